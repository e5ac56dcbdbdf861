// Grain's thin C layer over libjpeg-turbo and libpng.
//
// Both libraries report errors by longjmp-ing out of a callback, which Swift cannot do. Every
// function here sets up the jump target itself, turns a failure into a `GrainCodecStatus` and a
// message (written into the caller's buffer, always NUL-terminated), and releases what the library
// allocated. Decoding is done in two calls: `..._read_info` parses the header only (so the caller
// can refuse oversized images before allocating), then `..._decode_rgb` writes interleaved 8-bit
// RGB into a buffer of `width * height * 3` bytes that the caller owns, converted as Pillow's
// `Image.open(path).convert("RGB")` converts it.
#ifndef GRAIN_IMAGE_CODECS_H
#define GRAIN_IMAGE_CODECS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Outcome of a codec call.
typedef enum GrainCodecStatus {
    GrainCodecStatusOK = 0,
    /// The data ends before the image does.
    GrainCodecStatusTruncated = 1,
    /// The data is malformed (bad marker, bad chunk, bad Huffman code, wrong CRC, ...).
    GrainCodecStatusCorrupt = 2,
    /// Well-formed but not something Grain decodes (e.g. a 2-component or 12-bit JPEG).
    GrainCodecStatusUnsupported = 3,
    /// An allocation failed.
    GrainCodecStatusOutOfMemory = 4,
    /// The encoder refused its input or failed.
    GrainCodecStatusEncoderFailure = 5,
    /// The caller passed arguments that do not match the header (a programming error).
    GrainCodecStatusInvalidArgument = 6,
} GrainCodecStatus;

/// What a header says about an image.
typedef struct GrainImageInfo {
    uint32_t width;
    uint32_t height;
    /// Colour components stored in the file (JPEG: 1, 3 or 4; PNG: 1 grey, 2 grey+alpha,
    /// 3 RGB or palette, 4 RGBA).
    int32_t components;
    /// Bits per sample (JPEG: 8; PNG: 1, 2, 4, 8 or 16).
    int32_t bitDepth;
    /// PNG colour type (0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA); -1 for JPEG.
    int32_t pngColorType;
    /// 1 when the file is progressive (JPEG) or Adam7-interlaced (PNG).
    int32_t progressive;
} GrainImageInfo;

/// Parses a JPEG header.
GrainCodecStatus grain_jpeg_read_info(const uint8_t *data, size_t size, GrainImageInfo *info,
                                      char *message, size_t messageCapacity);

/// The quantisation tables and sampling factors a JPEG header declares.
typedef struct GrainJpegTables {
    /// Quantisation tables 0...3, each 64 values in natural (row-major) order, as libjpeg stores
    /// them after un-zigzagging the DQT segment.
    uint16_t tables[4][64];
    /// 1 when table i was defined by a DQT segment before the first scan.
    int32_t tablePresent[4];
    /// Colour components in the frame (at most 4 are described below).
    int32_t components;
    /// Per component: the quantisation table it uses, and its horizontal and vertical sampling
    /// factors (1...4).
    int32_t tableIndex[4];
    int32_t horizontalSampling[4];
    int32_t verticalSampling[4];
} GrainJpegTables;

/// Parses a JPEG header (`jpeg_read_header`, no entropy-coded data) and copies out its
/// quantisation tables and per-component sampling factors.
GrainCodecStatus grain_jpeg_read_tables(const uint8_t *data, size_t size, GrainJpegTables *tables,
                                        char *message, size_t messageCapacity);

/// Decodes a JPEG into `rgb` (`width * height * 3` bytes) with libjpeg's defaults, as Pillow does:
/// accurate integer IDCT, fancy upsampling, block smoothing. Greyscale is replicated into R, G and
/// B; CMYK/YCCK is inverted (Adobe convention) and converted as Pillow's `cmyk2rgb`.
GrainCodecStatus grain_jpeg_decode_rgb(const uint8_t *data, size_t size, uint8_t *rgb,
                                       uint32_t width, uint32_t height,
                                       char *message, size_t messageCapacity);

/// Encodes 8-bit pixels (`channels` 1 = grey or 3 = RGB) as a baseline JPEG with the settings of
/// Pillow's `Image.save(path, quality=quality)`: `jpeg_set_defaults`, `jpeg_set_quality(quality,
/// TRUE)`, standard Huffman tables (no optimisation), JFIF header, and the given chroma sampling
/// (`subsampling` 0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0; ignored for grey). On success `*output` is a
/// `malloc`ed buffer of `*outputSize` bytes that the caller frees with `grain_codec_free`.
GrainCodecStatus grain_jpeg_encode(const uint8_t *pixels, uint32_t width, uint32_t height,
                                   int32_t channels, int32_t quality, int32_t subsampling,
                                   uint8_t **output, size_t *outputSize,
                                   char *message, size_t messageCapacity);

/// Parses a PNG header (the chunks up to the first IDAT).
GrainCodecStatus grain_png_read_info(const uint8_t *data, size_t size, GrainImageInfo *info,
                                     char *message, size_t messageCapacity);

/// Decodes a PNG into `rgb` (`width * height * 3` bytes) as Pillow's `convert("RGB")` does: alpha
/// and tRNS are dropped without compositing, palettes are looked up, 1/2/4-bit grey is scaled to
/// 0...255, 16-bit samples keep their high byte, except 16-bit grey without alpha, which Pillow
/// opens as `I;16` and clips to 255.
GrainCodecStatus grain_png_decode_rgb(const uint8_t *data, size_t size, uint8_t *rgb,
                                      uint32_t width, uint32_t height,
                                      char *message, size_t messageCapacity);

/// Encodes 8-bit pixels (`channels` 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA) as a non-interlaced PNG
/// with zlib's default compression. On success `*output` is a `malloc`ed buffer of `*outputSize`
/// bytes that the caller frees with `grain_codec_free`.
GrainCodecStatus grain_png_encode(const uint8_t *pixels, uint32_t width, uint32_t height,
                                  int32_t channels, uint8_t **output, size_t *outputSize,
                                  char *message, size_t messageCapacity);

/// Frees a buffer returned by an encoder.
void grain_codec_free(void *pointer);

/// SHA-256 of `size` bytes, written as 32 bytes into `digest`.
void grain_sha256(const uint8_t *data, size_t size, uint8_t digest[32]);

#ifdef __cplusplus
}
#endif

#endif
