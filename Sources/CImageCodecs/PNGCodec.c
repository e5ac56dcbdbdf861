// PNG decode/encode through libpng, with the pixel conversions of Pillow's PngImagePlugin followed
// by `convert("RGB")`:
//   grey 1/2/4-bit   "1" / "L;2" / "L;4" unpack scale to 0...255 (as png_set_expand_gray_1_2_4_to_8)
//   grey 16-bit      "I;16", converted by I16_RGB: values above 255 clip to 255
//   grey+alpha 16    "LA;16B": high byte of grey; alpha dropped
//   RGB(A) 16-bit    "RGB;16B" / "RGBA;16B": high byte of each sample; alpha dropped
//   palette          looked up in PLTE (entries past its end are black); tRNS ignored
// No gamma, sRGB or ICC correction is applied (Pillow applies none). Chunks after the image data
// are not read, so a file cut after its last IDAT still decodes, as in Pillow.
#include "ImageCodecs.h"
#include "CodecSupport.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

typedef struct GrainPngContext {
    const uint8_t *data;
    size_t size;
    size_t offset;
    GrainCodecStatus status;
    char *message;
    size_t capacity;
    // Decoder scratch, freed on every path.
    uint8_t *rows;
    png_bytep *rowPointers;
    // Encoder output.
    uint8_t *encoded;
    size_t encodedSize;
    size_t encodedCapacity;
} GrainPngContext;

static void fail(png_structp png, png_const_charp text) {
    GrainPngContext *context = (GrainPngContext *)png_get_error_ptr(png);
    grain_set_message(context->message, context->capacity, text);
    if (context->status == GrainCodecStatusOK) context->status = GrainCodecStatusCorrupt;
    png_longjmp(png, 1);
}

static void warn(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;
}

static void read_from_memory(png_structp png, png_bytep out, size_t length) {
    GrainPngContext *context = (GrainPngContext *)png_get_io_ptr(png);
    if (length > context->size - context->offset) {
        context->status = GrainCodecStatusTruncated;
        png_error(png, "unexpected end of PNG data");
    }
    memcpy(out, context->data + context->offset, length);
    context->offset += length;
}

static void release(png_structp *png, png_infop *info, GrainPngContext *context) {
    png_destroy_read_struct(png, info, NULL);
    free(context->rows);
    free(context->rowPointers);
    context->rows = NULL;
    context->rowPointers = NULL;
}

static int component_count(int colorType) {
    switch (colorType) {
        case PNG_COLOR_TYPE_GRAY: return 1;
        case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
        case PNG_COLOR_TYPE_RGB: return 3;
        case PNG_COLOR_TYPE_PALETTE: return 3;
        case PNG_COLOR_TYPE_RGB_ALPHA: return 4;
        default: return 0;
    }
}

static void open_reader(GrainPngContext *context, const uint8_t *data, size_t size, char *message,
                        size_t capacity) {
    memset(context, 0, sizeof *context);
    context->data = data;
    context->size = size;
    context->status = GrainCodecStatusOK;
    context->message = message;
    context->capacity = capacity;
    grain_set_message(message, capacity, "");
}

GrainCodecStatus grain_png_read_info(const uint8_t *data, size_t size, GrainImageInfo *info,
                                     char *message, size_t messageCapacity) {
    GrainPngContext context;
    open_reader(&context, data, size, message, messageCapacity);
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &context, fail, warn);
    if (png == NULL) return GrainCodecStatusOutOfMemory;
    png_infop pngInfo = png_create_info_struct(png);
    if (pngInfo == NULL) {
        png_destroy_read_struct(&png, NULL, NULL);
        return GrainCodecStatusOutOfMemory;
    }
    if (setjmp(png_jmpbuf(png))) {
        // Data that ends after a valid IHDR still has a readable header (the pixel limit is
        // checked from it); decoding will report the truncation.
        if (context.status != GrainCodecStatusTruncated || png_get_image_width(png, pngInfo) == 0) {
            release(&png, &pngInfo, &context);
            return context.status;
        }
        grain_set_message(message, messageCapacity, "");
    } else {
        png_set_read_fn(png, &context, read_from_memory);
        png_read_info(png, pngInfo);
    }
    int colorType = png_get_color_type(png, pngInfo);
    info->width = png_get_image_width(png, pngInfo);
    info->height = png_get_image_height(png, pngInfo);
    info->components = component_count(colorType);
    info->bitDepth = png_get_bit_depth(png, pngInfo);
    info->pngColorType = colorType;
    info->progressive = png_get_interlace_type(png, pngInfo) == PNG_INTERLACE_NONE ? 0 : 1;
    release(&png, &pngInfo, &context);
    return GrainCodecStatusOK;
}

// Converts one decoded row (after the transforms set in grain_png_decode_rgb) to RGB.
static void convert_row(const uint8_t *in, uint8_t *out, uint32_t width, int colorType,
                        int bitDepth, const uint8_t palette[256][3]) {
    uint32_t x;
    switch (colorType) {
        case PNG_COLOR_TYPE_GRAY:
            if (bitDepth == 16) {
                for (x = 0; x < width; x++, in += 2, out += 3) {
                    uint8_t v = in[0] != 0 ? 255 : in[1];
                    out[0] = out[1] = out[2] = v;
                }
            } else {
                for (x = 0; x < width; x++, out += 3) out[0] = out[1] = out[2] = in[x];
            }
            break;
        case PNG_COLOR_TYPE_GRAY_ALPHA: {
            const int step = bitDepth == 16 ? 4 : 2;
            for (x = 0; x < width; x++, in += step, out += 3) out[0] = out[1] = out[2] = in[0];
            break;
        }
        case PNG_COLOR_TYPE_RGB:
            if (bitDepth == 16) {
                for (x = 0; x < width; x++, in += 6, out += 3) {
                    out[0] = in[0];
                    out[1] = in[2];
                    out[2] = in[4];
                }
            } else {
                memcpy(out, in, (size_t)width * 3);
            }
            break;
        case PNG_COLOR_TYPE_RGB_ALPHA: {
            const int step = bitDepth == 16 ? 8 : 4;
            const int sample = bitDepth == 16 ? 2 : 1;
            for (x = 0; x < width; x++, in += step, out += 3) {
                out[0] = in[0];
                out[1] = in[sample];
                out[2] = in[2 * sample];
            }
            break;
        }
        case PNG_COLOR_TYPE_PALETTE:
            for (x = 0; x < width; x++, out += 3) {
                const uint8_t *entry = palette[in[x]];
                out[0] = entry[0];
                out[1] = entry[1];
                out[2] = entry[2];
            }
            break;
        default:
            break;
    }
}

GrainCodecStatus grain_png_decode_rgb(const uint8_t *data, size_t size, uint8_t *rgb,
                                      uint32_t width, uint32_t height,
                                      char *message, size_t messageCapacity) {
    GrainPngContext context;
    open_reader(&context, data, size, message, messageCapacity);
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &context, fail, warn);
    if (png == NULL) return GrainCodecStatusOutOfMemory;
    png_infop info = png_create_info_struct(png);
    if (info == NULL) {
        png_destroy_read_struct(&png, NULL, NULL);
        return GrainCodecStatusOutOfMemory;
    }
    if (setjmp(png_jmpbuf(png))) {
        release(&png, &info, &context);
        return context.status;
    }
    png_set_read_fn(png, &context, read_from_memory);
    png_read_info(png, info);
    if (png_get_image_width(png, info) != width || png_get_image_height(png, info) != height) {
        release(&png, &info, &context);
        grain_set_message(message, messageCapacity, "image size differs from the header's");
        return GrainCodecStatusInvalidArgument;
    }
    const int colorType = png_get_color_type(png, info);
    const int bitDepth = png_get_bit_depth(png, info);
    uint8_t palette[256][3];
    memset(palette, 0, sizeof palette);
    if (colorType == PNG_COLOR_TYPE_PALETTE) {
        png_colorp entries = NULL;
        int count = 0;
        if (png_get_PLTE(png, info, &entries, &count) != PNG_INFO_PLTE || entries == NULL) {
            png_error(png, "palette image without PLTE chunk");
        }
        for (int i = 0; i < count && i < 256; i++) {
            palette[i][0] = entries[i].red;
            palette[i][1] = entries[i].green;
            palette[i][2] = entries[i].blue;
        }
    }
    if (bitDepth < 8) {
        if (colorType == PNG_COLOR_TYPE_GRAY) {
            png_set_expand_gray_1_2_4_to_8(png);
        } else {
            png_set_packing(png);  // one palette index per byte, unscaled
        }
    }
    const int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    const size_t rowBytes = png_get_rowbytes(png, info);
    const size_t rgbStride = (size_t)width * 3;
    if (passes > 1) {
        // Adam7: every pass revisits every row, so the whole native image is kept.
        if (rowBytes != 0 && (size_t)height > SIZE_MAX / rowBytes) png_error(png, "image too large");
        context.rows = (uint8_t *)malloc(rowBytes * (size_t)height);
        context.rowPointers = (png_bytep *)malloc(sizeof(png_bytep) * (size_t)height);
        if (context.rows == NULL || context.rowPointers == NULL) {
            context.status = GrainCodecStatusOutOfMemory;
            png_error(png, "out of memory");
        }
        for (uint32_t y = 0; y < height; y++) context.rowPointers[y] = context.rows + rowBytes * y;
        png_read_image(png, context.rowPointers);
        for (uint32_t y = 0; y < height; y++) {
            convert_row(context.rowPointers[y], rgb + rgbStride * y, width, colorType, bitDepth,
                        (const uint8_t(*)[3])palette);
        }
    } else {
        context.rows = (uint8_t *)malloc(rowBytes);
        if (context.rows == NULL) {
            context.status = GrainCodecStatusOutOfMemory;
            png_error(png, "out of memory");
        }
        for (uint32_t y = 0; y < height; y++) {
            png_read_row(png, context.rows, NULL);
            convert_row(context.rows, rgb + rgbStride * y, width, colorType, bitDepth,
                        (const uint8_t(*)[3])palette);
        }
    }
    release(&png, &info, &context);
    return GrainCodecStatusOK;
}

static void write_to_memory(png_structp png, png_bytep data, size_t length) {
    GrainPngContext *context = (GrainPngContext *)png_get_io_ptr(png);
    if (length > context->encodedCapacity - context->encodedSize) {
        size_t capacity = context->encodedCapacity < 4096 ? 4096 : context->encodedCapacity;
        while (capacity - context->encodedSize < length) {
            if (capacity > SIZE_MAX / 2) png_error(png, "PNG output too large");
            capacity *= 2;
        }
        uint8_t *grown = (uint8_t *)realloc(context->encoded, capacity);
        if (grown == NULL) {
            context->status = GrainCodecStatusOutOfMemory;
            png_error(png, "out of memory");
        }
        context->encoded = grown;
        context->encodedCapacity = capacity;
    }
    memcpy(context->encoded + context->encodedSize, data, length);
    context->encodedSize += length;
}

static void flush_memory(png_structp png) { (void)png; }

GrainCodecStatus grain_png_encode(const uint8_t *pixels, uint32_t width, uint32_t height,
                                  int32_t channels, uint8_t **output, size_t *outputSize,
                                  char *message, size_t messageCapacity) {
    *output = NULL;
    *outputSize = 0;
    static const int colorTypes[5] = {-1, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
                                      PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
    if (channels < 1 || channels > 4 || width == 0 || height == 0 || width > 0x7fffffffu ||
        height > 0x7fffffffu) {
        grain_set_message(message, messageCapacity,
                          "PNG encoding needs 1 to 4 channels and a non-empty image");
        return GrainCodecStatusInvalidArgument;
    }
    GrainPngContext context;
    memset(&context, 0, sizeof context);
    context.status = GrainCodecStatusOK;
    context.message = message;
    context.capacity = messageCapacity;
    grain_set_message(message, messageCapacity, "");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &context, fail, warn);
    if (png == NULL) return GrainCodecStatusOutOfMemory;
    png_infop info = png_create_info_struct(png);
    if (info == NULL) {
        png_destroy_write_struct(&png, NULL);
        return GrainCodecStatusOutOfMemory;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(context.encoded);
        return context.status == GrainCodecStatusCorrupt ? GrainCodecStatusEncoderFailure
                                                          : context.status;
    }
    png_set_write_fn(png, &context, write_to_memory, flush_memory);
    png_set_IHDR(png, info, width, height, 8, colorTypes[channels], PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    const size_t stride = (size_t)width * (size_t)channels;
    for (uint32_t y = 0; y < height; y++) png_write_row(png, pixels + stride * y);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    *output = context.encoded;
    *outputSize = context.encodedSize;
    return GrainCodecStatusOK;
}
