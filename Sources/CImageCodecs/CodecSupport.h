// Helpers shared by the codec wrappers (not part of the module's public header).
#ifndef GRAIN_CODEC_SUPPORT_H
#define GRAIN_CODEC_SUPPORT_H

#include <stddef.h>

/// Copies `text` into `message` (truncating, always NUL-terminated when `capacity > 0`).
void grain_set_message(char *message, size_t capacity, const char *text);

#endif
