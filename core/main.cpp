// autodnsfailover: a thin shell over the core library.
#include "cli/app.h"

int main(int argc, char **argv) { return adf::cli::main(argc, argv); }
