/* A shared object that exports code but no autodnsfailover_plugin
 * descriptor: the loader must refuse it before calling anything. */
#include <autodnsfailover/plugin.h>

ADF_EXPORT int no_symbol_answer(void);
ADF_EXPORT int no_symbol_answer(void) { return 42; }
