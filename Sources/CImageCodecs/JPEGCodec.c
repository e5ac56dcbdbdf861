// JPEG decode/encode through libjpeg-turbo with Pillow's settings.
//
// Pillow's decoder (src/libImaging/JpegDecode.c) leaves libjpeg's decompression defaults alone
// (JDCT_ISLOW, do_fancy_upsampling and do_block_smoothing on) unless "draft" mode is requested,
// lets libjpeg infer the stored colour space from the JFIF/Adobe markers, and asks for
// JCS_RGB (3 components), JCS_GRAYSCALE (1) or JCS_CMYK (4, read as inverted "CMYK;I").
// Warnings are ignored, except that running out of data before the last scanline is an error
// ("image file is truncated"); a missing EOI after the last scanline is tolerated.
#include "ImageCodecs.h"
#include "CodecSupport.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

typedef struct GrainJpegContext {
    struct jpeg_error_mgr manager;  // must be first: libjpeg hands back a pointer to it
    jmp_buf jump;
    GrainCodecStatus status;
    int imageComplete;
    char *message;
    size_t capacity;
    unsigned char *encoded;  // jpeg_mem_dest's buffer (encoder only)
    unsigned long encodedSize;
} GrainJpegContext;

static GrainCodecStatus classify(int code) {
    switch (code) {
        case JERR_OUT_OF_MEMORY:
            return GrainCodecStatusOutOfMemory;
        case JERR_BAD_PRECISION:
        case JERR_CONVERSION_NOTIMPL:
        case JERR_NOT_COMPILED:
        case JERR_NO_ARITH_TABLE:
            return GrainCodecStatusUnsupported;
        case JERR_INPUT_EMPTY:
        case JERR_INPUT_EOF:
            return GrainCodecStatusTruncated;
        default:
            return GrainCodecStatusCorrupt;
    }
}

static void fail(j_common_ptr cinfo) {
    GrainJpegContext *context = (GrainJpegContext *)cinfo->err;
    char text[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, text);
    grain_set_message(context->message, context->capacity, text);
    if (context->status == GrainCodecStatusOK) {
        context->status = cinfo->is_decompressor ? classify(cinfo->err->msg_code)
                                                 : GrainCodecStatusEncoderFailure;
    }
    longjmp(context->jump, 1);
}

static void emit(j_common_ptr cinfo, int level) {
    if (level >= 0) return;  // trace messages
    GrainJpegContext *context = (GrainJpegContext *)cinfo->err;
    if (cinfo->err->msg_code == JWRN_JPEG_EOF && !context->imageComplete) {
        context->status = GrainCodecStatusTruncated;
        fail(cinfo);
    }
    cinfo->err->num_warnings++;
}

static void silent(j_common_ptr cinfo) { (void)cinfo; }

// A progressive JPEG from a real encoder has about 10 scans (mozjpeg's most is near 20); each
// scan is a pass over the whole image, so a small crafted file repeating scan headers would make
// decoding cost hundreds of passes. libjpeg calls the progress monitor as it consumes input, and
// more scans than this fail as corrupt data (the limit libjpeg-turbo's djpeg -maxscans offers).
enum { GrainJpegMaximumScans = 100 };

static void limit_scans(j_common_ptr cinfo) {
    j_decompress_ptr decompress = (j_decompress_ptr)cinfo;
    if (decompress->input_scan_number > GrainJpegMaximumScans) {
        GrainJpegContext *context = (GrainJpegContext *)cinfo->err;
        char text[96];
        snprintf(text, sizeof text, "more than %d scans (a real progressive JPEG has about 10)",
                 (int)GrainJpegMaximumScans);
        grain_set_message(context->message, context->capacity, text);
        context->status = GrainCodecStatusCorrupt;
        longjmp(context->jump, 1);
    }
}

static void install(GrainJpegContext *context, struct jpeg_error_mgr **slot, char *message,
                    size_t capacity) {
    memset(context, 0, sizeof *context);
    *slot = jpeg_std_error(&context->manager);
    context->manager.error_exit = fail;
    context->manager.emit_message = emit;
    context->manager.output_message = silent;
    context->status = GrainCodecStatusOK;
    context->message = message;
    context->capacity = capacity;
    grain_set_message(message, capacity, "");
}

// Parses the header once and copies out what the caller asks for (`info`, `tables`, either NULL).
static GrainCodecStatus read_header(const uint8_t *data, size_t size, GrainImageInfo *info,
                                    GrainJpegTables *tables, char *message, size_t messageCapacity) {
    struct jpeg_decompress_struct cinfo;
    GrainJpegContext context;
    install(&context, &cinfo.err, message, messageCapacity);
    if (setjmp(context.jump)) {
        jpeg_destroy_decompress(&cinfo);
        return context.status;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    if (info != NULL) {
        info->width = cinfo.image_width;
        info->height = cinfo.image_height;
        info->components = cinfo.num_components;
        info->bitDepth = cinfo.data_precision;
        info->pngColorType = -1;
        info->progressive = cinfo.progressive_mode ? 1 : 0;
    }
    if (tables != NULL) {
        memset(tables, 0, sizeof *tables);
        for (int t = 0; t < 4 && t < NUM_QUANT_TBLS; t++) {
            const JQUANT_TBL *table = cinfo.quant_tbl_ptrs[t];
            if (table == NULL) continue;
            tables->tablePresent[t] = 1;
            for (int i = 0; i < 64; i++) tables->tables[t][i] = table->quantval[i];
        }
        tables->components = cinfo.num_components;
        for (int c = 0; c < cinfo.num_components && c < 4; c++) {
            tables->tableIndex[c] = cinfo.comp_info[c].quant_tbl_no;
            tables->horizontalSampling[c] = cinfo.comp_info[c].h_samp_factor;
            tables->verticalSampling[c] = cinfo.comp_info[c].v_samp_factor;
        }
    }
    jpeg_destroy_decompress(&cinfo);
    return GrainCodecStatusOK;
}

GrainCodecStatus grain_jpeg_read_info(const uint8_t *data, size_t size, GrainImageInfo *info,
                                      char *message, size_t messageCapacity) {
    GrainCodecStatus status = read_header(data, size, info, NULL, message, messageCapacity);
    if (status != GrainCodecStatusOK) return status;
    if (info->components != 1 && info->components != 3 && info->components != 4) {
        char text[96];
        snprintf(text, sizeof text, "cannot handle %d-component JPEG images", info->components);
        grain_set_message(message, messageCapacity, text);
        return GrainCodecStatusUnsupported;
    }
    return GrainCodecStatusOK;
}

GrainCodecStatus grain_jpeg_read_tables(const uint8_t *data, size_t size, GrainJpegTables *tables,
                                        char *message, size_t messageCapacity) {
    return read_header(data, size, NULL, tables, message, messageCapacity);
}

// Pillow's MULDIV255: a * b / 255, rounded.
static inline int multiply_divide_255(int a, int b) {
    int t = a * b + 128;
    return ((t >> 8) + t) >> 8;
}

static inline uint8_t clip8(int value) {
    return (uint8_t)(value < 0 ? 0 : (value > 255 ? 255 : value));
}

GrainCodecStatus grain_jpeg_decode_rgb(const uint8_t *data, size_t size, uint8_t *rgb,
                                       uint32_t width, uint32_t height,
                                       char *message, size_t messageCapacity) {
    struct jpeg_decompress_struct cinfo;
    GrainJpegContext context;
    install(&context, &cinfo.err, message, messageCapacity);
    if (setjmp(context.jump)) {
        jpeg_destroy_decompress(&cinfo);
        return context.status;
    }
    jpeg_create_decompress(&cinfo);
    struct jpeg_progress_mgr progress;
    memset(&progress, 0, sizeof progress);
    progress.progress_monitor = limit_scans;
    cinfo.progress = &progress;
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    if (cinfo.image_width != width || cinfo.image_height != height) {
        jpeg_destroy_decompress(&cinfo);
        grain_set_message(message, messageCapacity, "image size differs from the header's");
        return GrainCodecStatusInvalidArgument;
    }
    int components = cinfo.num_components;
    switch (components) {
        case 1: cinfo.out_color_space = JCS_GRAYSCALE; break;
        case 3: cinfo.out_color_space = JCS_RGB; break;
        case 4: cinfo.out_color_space = JCS_CMYK; break;
        default:
            jpeg_destroy_decompress(&cinfo);
            grain_set_message(message, messageCapacity, "unsupported number of JPEG components");
            return GrainCodecStatusUnsupported;
    }
    jpeg_start_decompress(&cinfo);
    if (cinfo.output_width != width || cinfo.output_height != height ||
        cinfo.output_components != components) {
        jpeg_destroy_decompress(&cinfo);
        grain_set_message(message, messageCapacity, "unexpected decoder output geometry");
        return GrainCodecStatusCorrupt;
    }
    const size_t stride = (size_t)width * 3;
    // Rows that need conversion are read into a scratch row owned by libjpeg's memory pool,
    // which jpeg_destroy_decompress releases on every path.
    JSAMPARRAY scratch = NULL;
    if (components != 3) {
        scratch = (*cinfo.mem->alloc_sarray)((j_common_ptr)&cinfo, JPOOL_IMAGE,
                                             width * (JDIMENSION)components, 1);
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        uint8_t *out = rgb + (size_t)cinfo.output_scanline * stride;
        if (components == 3) {
            JSAMPROW row = out;
            jpeg_read_scanlines(&cinfo, &row, 1);
            continue;
        }
        jpeg_read_scanlines(&cinfo, scratch, 1);
        const uint8_t *in = scratch[0];
        if (components == 1) {
            for (uint32_t x = 0; x < width; x++, out += 3) {
                out[0] = out[1] = out[2] = in[x];
            }
        } else {
            // "CMYK;I" unpacking inverts every component, then Pillow's cmyk2rgb.
            for (uint32_t x = 0; x < width; x++, in += 4, out += 3) {
                int blackInverse = in[3];  // 255 - (255 - k)
                out[0] = clip8(blackInverse - multiply_divide_255(255 - in[0], blackInverse));
                out[1] = clip8(blackInverse - multiply_divide_255(255 - in[1], blackInverse));
                out[2] = clip8(blackInverse - multiply_divide_255(255 - in[2], blackInverse));
            }
        }
    }
    context.imageComplete = 1;
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return GrainCodecStatusOK;
}

GrainCodecStatus grain_jpeg_encode(const uint8_t *pixels, uint32_t width, uint32_t height,
                                   int32_t channels, int32_t quality, int32_t subsampling,
                                   uint8_t **output, size_t *outputSize,
                                   char *message, size_t messageCapacity) {
    *output = NULL;
    *outputSize = 0;
    if ((channels != 1 && channels != 3) || width == 0 || height == 0 || width > JPEG_MAX_DIMENSION ||
        height > JPEG_MAX_DIMENSION || subsampling < 0 || subsampling > 2) {
        grain_set_message(message, messageCapacity,
                          "JPEG encoding needs 1 or 3 channels and 1...65500 pixels a side");
        return GrainCodecStatusInvalidArgument;
    }
    struct jpeg_compress_struct cinfo;
    GrainJpegContext context;
    install(&context, &cinfo.err, message, messageCapacity);
    if (setjmp(context.jump)) {
        jpeg_destroy_compress(&cinfo);
        free(context.encoded);
        return context.status;
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &context.encoded, &context.encodedSize);
    cinfo.image_width = width;
    cinfo.image_height = height;
    cinfo.input_components = channels;
    cinfo.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    if (channels == 3) {
        static const int horizontal[3] = {1, 2, 2};
        static const int vertical[3] = {1, 1, 2};
        cinfo.comp_info[0].h_samp_factor = horizontal[subsampling];
        cinfo.comp_info[0].v_samp_factor = vertical[subsampling];
        for (int c = 1; c < 3; c++) {
            cinfo.comp_info[c].h_samp_factor = 1;
            cinfo.comp_info[c].v_samp_factor = 1;
        }
    }
    cinfo.optimize_coding = FALSE;
    jpeg_start_compress(&cinfo, TRUE);
    const size_t stride = (size_t)width * (size_t)channels;
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)cinfo.next_scanline * stride);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    *output = context.encoded;
    *outputSize = (size_t)context.encodedSize;
    return GrainCodecStatusOK;
}
