// The command line: run, check-config, plugins, probe, --version, --help.
#pragma once

#include "util/exit_codes.h"

namespace adf::cli {

int main(int argc, char **argv);

}  // namespace adf::cli
