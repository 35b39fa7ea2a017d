// ktctl's main: the command table, global flags and dispatch. See
// docs/ktctl.md.
#include <cstdlib>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/ktctl_framework.h"
#include "grpc/support/log.h"

namespace ktlog {
namespace {

std::string Usage(const CommandTable& table) {
  std::string out =
      "usage: ktctl [--state=DIR] [--server=HOST:PORT] [--json] "
      "[--timeout=10s]\n"
      "             COMMAND [args]\n"
      "\n"
      "Key transparency client for a ktlog log. Every answer from the log is\n"
      "verified against a checkpoint signed by the pinned log key.\n"
      "\n"
      "commands:\n";
  for (const auto& c : table) {
    absl::StrAppendFormat(&out, "  %-12s %s\n", c->name(), c->summary());
  }
  absl::StrAppend(
      &out,
      "\nRun `ktctl COMMAND --help` for a command's flags. Exit codes: 0 ok,\n"
      "1 failed, 2 usage, 3 an answer did not verify or an alert was raised,\n"
      "4 log unreachable.\n");
  return out;
}

Command* Find(const CommandTable& table, const std::string& name) {
  for (const auto& c : table) {
    if (c->name() == name) return c.get();
  }
  return nullptr;
}

}  // namespace

int KtctlMain(int argc, char** argv, SecurityKeyOpener opener) {
  // gRPC's own log lines (a failed handshake, a refused connection) are
  // not for the person at the terminal: ktctl says what went wrong.
  gpr_set_log_function([](gpr_log_func_args*) {});
  CommandTable table;
  AddAccountCommands(&table);
  AddTrustCommands(&table);
  AddLogCommands(&table);
  AddBackupCommands(&table);
  Globals globals;
  globals.open_security_key = std::move(opener);
  const char* env_state = getenv("KTCTL_STATE");
  const char* home = getenv("HOME");
  globals.state_dir = env_state != nullptr
                          ? env_state
                          : absl::StrCat(home ? home : ".", "/.ktctl");
  std::vector<std::string> args = ArgsOf(argc, argv);
  // Global flags may come before the command; everything from the command
  // on belongs to it (which accepts the global flags too).
  size_t cmd = 0;
  while (cmd < args.size() && args[cmd].rfind("--", 0) == 0) {
    const std::string& a = args[cmd++];
    bool takes_value = a == "--state" || a == "--server" || a == "--timeout" ||
                       a == "--ca_file" || a == "--tiles" || a == "--wait" ||
                       a == "--security_key" || a == "--touch_timeout";
    if (takes_value && cmd < args.size()) ++cmd;
  }
  Context ctx(globals);
  FlagSet top(Usage(table));
  ctx.AddGlobalFlags(&top);
  absl::StatusOr<std::vector<std::string>> parsed =
      top.Parse(std::vector<std::string>(args.begin(), args.begin() + cmd));
  if (!parsed.ok()) {
    std::cerr << "ktctl: " << parsed.status().message() << "\n";
    return kExitUsage;
  }
  if (top.help_requested()) {
    std::cout << top.Help();
    return kExitOk;
  }
  if (cmd == args.size()) {
    std::cerr << Usage(table);
    return kExitUsage;
  }
  Command* command = Find(table, args[cmd]);
  if (command == nullptr) {
    std::cerr << "ktctl: unknown command \"" << args[cmd]
              << "\"; run `ktctl --help`\n";
    return kExitUsage;
  }
  return RunCommand(
      *command, ctx,
      std::vector<std::string>(args.begin() + cmd + 1, args.end()));
}

}  // namespace ktlog
