#include "CodecSupport.h"
#include "ImageCodecs.h"

#include <stdio.h>
#include <stdlib.h>

void grain_set_message(char *message, size_t capacity, const char *text) {
    if (message != NULL && capacity > 0) {
        snprintf(message, capacity, "%s", text != NULL ? text : "");
    }
}

void grain_codec_free(void *pointer) { free(pointer); }
