// libjpeg-turbo's libjpeg API (Debian: libjpeg-dev, which brings libjpeg62-turbo-dev).
// jpeglib.h uses FILE and size_t without including their headers: <stdio.h> must come first.
#include <stdio.h>
#include <jpeglib.h>
#include <jerror.h>
