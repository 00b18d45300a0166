// autodnsfailover-checker: the check helper the daemon starts (a thin shell
// over the core library; isolation/checker.h says what it does).
#include "isolation/checker.h"

int main(int argc, char **argv) { return adf::isolation::checker_main(argc, argv); }
