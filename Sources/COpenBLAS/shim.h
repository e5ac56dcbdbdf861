// OpenBLAS's CBLAS interface (Debian: libopenblas-dev).
#include <cblas.h>
// Thread control, declared by OpenBLAS's cblas.h on most builds; repeated here for the others.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
// The kernel family and the build configuration, printed by the benchmark scripts.
char* openblas_get_corename(void);
char* openblas_get_config(void);
