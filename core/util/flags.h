// FlagSet: the command-line parser of every ktlog binary (ktlog-server,
// ktlog-keygen, ktctl and its subcommands, the auditor and the tools), so
// that all accept the same syntax:
//
//   --name=value  --name value  --bool-flag  --no-bool-flag  --  positional
//
// Unknown flags, missing values and malformed numbers or durations are
// INVALID_ARGUMENT with a message naming the flag. `--help`/`-h` sets
// help_requested() instead of failing.
//
// Not thread-safe; build one per parse.
#ifndef KTLOG_CORE_UTIL_FLAGS_H_
#define KTLOG_CORE_UTIL_FLAGS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ktlog {

class FlagSet {
 public:
  // `usage` is the first lines of --help ("usage: ktctl lookup <account>").
  explicit FlagSet(std::string usage) : usage_(std::move(usage)) {}

  // Each registers --name; `target` keeps its default unless given.
  void String(const std::string& name, std::string* target,
              const std::string& help);
  void Bool(const std::string& name, bool* target, const std::string& help);
  void Uint64(const std::string& name, uint64_t* target,
              const std::string& help);
  // Durations in abseil syntax: "250ms", "2s", "1h30m".
  void Duration(const std::string& name, absl::Duration* target,
                const std::string& help);

  // Parses args (without the program name); returns positional arguments.
  absl::StatusOr<std::vector<std::string>> Parse(
      const std::vector<std::string>& args);

  bool help_requested() const { return help_requested_; }
  // Usage and one line per flag with its default.
  std::string Help() const;

 private:
  struct Flag {
    std::string name;
    std::string help;
    std::string default_value;
    bool is_bool = false;
    std::function<absl::Status(absl::string_view)> set;
  };
  Flag* Find(absl::string_view name);

  std::string usage_;
  std::vector<Flag> flags_;
  bool help_requested_ = false;
};

// argv[1..argc) as strings.
std::vector<std::string> ArgsOf(int argc, char** argv);

// The standard handling in a binary's main(): parses argv with `flags`.
// Returns true with the positional arguments, or false with *exit_code set:
// 0 after printing --help to stdout, 2 after printing
// "<program>: <error>" to stderr.
bool ParseMainFlags(FlagSet& flags, int argc, char** argv,
                    const std::string& program,
                    std::vector<std::string>* positional, int* exit_code);

}  // namespace ktlog

#endif  // KTLOG_CORE_UTIL_FLAGS_H_
