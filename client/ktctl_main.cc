// ktctl: the ktlog command-line client. See docs/ktctl.md.
#include <cstdlib>
#include <iostream>
#include <map>

#include "absl/strings/str_cat.h"
#include "client/ktctl_commands.h"
#include "client/ktctl_context.h"

namespace {

constexpr char kUsage[] =
    "usage: ktctl [--state=DIR] [--server=HOST:PORT] [--json] [--timeout=10s]\n"
    "             COMMAND [args]\n"
    "\n"
    "Key transparency client for a ktlog log. Every answer from the log is\n"
    "verified against a checkpoint signed by the pinned log key.\n"
    "\n"
    "commands:\n"
    "  init         create this account and device (keys in the state dir)\n"
    "  register     publish this device in the log\n"
    "  device       add | remove | list your devices\n"
    "  rotate-key   replace your account key\n"
    "  lookup       an account's verified device set\n"
    "  history      an account's verified records\n"
    "  contact      add | verify | remove | list contacts\n"
    "  code         show | compare | public | compute safety codes (and QR)\n"
    "  monitor      check your account, contacts and the log; raise alerts\n"
    "  alerts       list alerts, or show one with its evidence\n"
    "  policy       witnesses, quorum and freshness bounds\n"
    "  checkpoint   fetch, verify and print the latest checkpoint\n"
    "  proof        inclusion | consistency: fetch, verify and print a proof\n"
    "  entries      print log records in a range\n"
    "\n"
    "Run `ktctl COMMAND --help` for a command's flags. Exit codes: 0 ok,\n"
    "1 failed, 2 usage, 3 an answer did not verify or an alert was raised,\n"
    "4 log unreachable.\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace ktlog;
  Globals globals;
  const char* env_state = getenv("KTCTL_STATE");
  const char* home = getenv("HOME");
  globals.state_dir = env_state != nullptr
                          ? env_state
                          : absl::StrCat(home ? home : ".", "/.ktctl");
  std::vector<std::string> args = ArgsOf(argc, argv);
  // Global flags may come before the command; everything from the command
  // on belongs to it (which accepts the global flags too).
  Context ctx(globals);
  size_t cmd = 0;
  while (cmd < args.size() && args[cmd].rfind("--", 0) == 0) {
    const std::string& a = args[cmd++];
    bool takes_value = a == "--state" || a == "--server" || a == "--timeout";
    if (takes_value && cmd < args.size()) ++cmd;
  }
  std::vector<std::string> before(args.begin(), args.begin() + cmd);
  FlagSet top(kUsage);
  std::vector<std::string> ignored;
  int exit_code = 0;
  if (!ParseCommandFlags(ctx, top, before, &ignored, &exit_code)) {
    return exit_code;
  }
  if (cmd == args.size()) {
    std::cerr << kUsage;
    return kExitUsage;
  }
  std::map<std::string, CommandFn> commands;
  RegisterAccountCommands(&commands);
  RegisterTrustCommands(&commands);
  RegisterLogCommands(&commands);
  auto it = commands.find(args[cmd]);
  if (it == commands.end()) {
    std::cerr << "ktctl: unknown command \"" << args[cmd]
              << "\"; run `ktctl --help`\n";
    return kExitUsage;
  }
  return it->second(
      ctx, std::vector<std::string>(args.begin() + cmd + 1, args.end()));
}
