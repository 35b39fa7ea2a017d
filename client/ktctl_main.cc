// ktctl: the command-line client (docs/ktctl.md). Security keys through
// libfido2.
#include "client/ktctl_framework.h"

int main(int argc, char** argv) {
  return ktlog::KtctlMain(argc, argv, ktlog::OpenFido2Key);
}
