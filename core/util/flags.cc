#include "core/util/flags.h"

#include <cstdio>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/util/bytes.h"

namespace ktlog {

void FlagSet::String(const std::string& name, std::string* target,
                     const std::string& help) {
  flags_.push_back(
      Flag{name, help, *target, false, [target](absl::string_view v) {
             *target = std::string(v);
             return absl::OkStatus();
           }});
}

void FlagSet::Bool(const std::string& name, bool* target,
                   const std::string& help) {
  flags_.push_back(
      Flag{name, help, *target ? "true" : "false", true,
           [target, name](absl::string_view v) {
             if (v == "true" || v == "1") {
               *target = true;
             } else if (v == "false" || v == "0") {
               *target = false;
             } else {
               return absl::InvalidArgumentError(absl::StrCat(
                   "--", name, " takes true or false, not \"", v, "\""));
             }
             return absl::OkStatus();
           }});
}

void FlagSet::Uint64(const std::string& name, uint64_t* target,
                     const std::string& help) {
  flags_.push_back(Flag{name, help, absl::StrCat(*target), false,
                        [target, name](absl::string_view v) {
                          absl::StatusOr<uint64_t> n = ParseDecimalU64(v);
                          if (!n.ok()) {
                            return absl::InvalidArgumentError(
                                absl::StrCat("--", name,
                                             " takes a non-negative integer, "
                                             "not \"",
                                             v, "\""));
                          }
                          *target = *n;
                          return absl::OkStatus();
                        }});
}

void FlagSet::Duration(const std::string& name, absl::Duration* target,
                       const std::string& help) {
  flags_.push_back(Flag{name, help, absl::FormatDuration(*target), false,
                        [target, name](absl::string_view v) {
                          absl::Duration d;
                          if (!absl::ParseDuration(v, &d) ||
                              d < absl::ZeroDuration()) {
                            return absl::InvalidArgumentError(
                                absl::StrCat("--", name,
                                             " takes a duration such as 250ms, "
                                             "2s or 1h, not \"",
                                             v, "\""));
                          }
                          *target = d;
                          return absl::OkStatus();
                        }});
}

FlagSet::Flag* FlagSet::Find(absl::string_view name) {
  for (Flag& f : flags_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

absl::StatusOr<std::vector<std::string>> FlagSet::Parse(
    const std::vector<std::string>& args) {
  std::vector<std::string> positional;
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view a = args[i];
    if (a == "--") {
      positional.insert(positional.end(), args.begin() + i + 1, args.end());
      break;
    }
    if (a == "--help" || a == "-h") {
      help_requested_ = true;
      continue;
    }
    if (!absl::StartsWith(a, "--") || a.size() == 2) {
      if (absl::StartsWith(a, "-") && a.size() > 1) {
        return absl::InvalidArgumentError(
            absl::StrCat("unknown option ", a, " (flags start with --)"));
      }
      positional.push_back(std::string(a));
      continue;
    }
    a.remove_prefix(2);
    absl::string_view name = a, value;
    bool has_value = false;
    if (size_t eq = a.find('='); eq != absl::string_view::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      has_value = true;
    }
    Flag* f = Find(name);
    if (f == nullptr && !has_value && absl::StartsWith(name, "no-")) {
      Flag* negated = Find(name.substr(3));
      if (negated != nullptr && negated->is_bool) {
        absl::Status s = negated->set("false");
        if (!s.ok()) return s;
        continue;
      }
    }
    if (f == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag --", name, "; see --help"));
    }
    if (!has_value) {
      if (f->is_bool) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("flag --", name, " needs a value"));
      }
    }
    absl::Status s = f->set(value);
    if (!s.ok()) return s;
  }
  return positional;
}

std::string FlagSet::Help() const {
  std::string out = usage_;
  if (!out.empty() && out.back() != '\n') out += "\n";
  if (!flags_.empty()) out += "\nflags:\n";
  for (const Flag& f : flags_) {
    absl::StrAppend(&out, "  --", f.name, f.is_bool ? "" : " <value>",
                    "\n      ", f.help);
    // A flag whose help says its default (one computed at run time) does
    // not also show the current value as one.
    if (!f.default_value.empty() &&
        f.help.find("(default:") == std::string::npos) {
      absl::StrAppend(&out, " (default: ", f.default_value, ")");
    }
    out += "\n";
  }
  out += "  --help\n      show this help\n";
  return out;
}

std::vector<std::string> ArgsOf(int argc, char** argv) {
  return std::vector<std::string>(argv + 1, argv + argc);
}

bool ParseMainFlags(FlagSet& flags, int argc, char** argv,
                    const std::string& program,
                    std::vector<std::string>* positional, int* exit_code) {
  absl::StatusOr<std::vector<std::string>> parsed =
      flags.Parse(ArgsOf(argc, argv));
  if (!parsed.ok()) {
    fprintf(stderr, "%s: %s\n", program.c_str(),
            std::string(parsed.status().message()).c_str());
    *exit_code = 2;
    return false;
  }
  if (flags.help_requested()) {
    fputs(flags.Help().c_str(), stdout);
    *exit_code = 0;
    return false;
  }
  *positional = *std::move(parsed);
  return true;
}

}  // namespace ktlog
