// The ktctl commands, by name.
#ifndef KTLOG_CLIENT_KTCTL_COMMANDS_H_
#define KTLOG_CLIENT_KTCTL_COMMANDS_H_

#include <map>
#include <string>
#include <vector>

#include "client/ktctl_context.h"

namespace ktlog {

using CommandFn = int (*)(Context& ctx, const std::vector<std::string>& args);

const std::map<std::string, CommandFn>& Commands();

}  // namespace ktlog

#endif  // KTLOG_CLIENT_KTCTL_COMMANDS_H_
