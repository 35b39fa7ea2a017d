// The ktctl commands, by name, registered by the file that implements them:
// ktctl_account.cc (own account), ktctl_trust.cc (lookups, monitoring,
// alerts, contacts, codes), ktctl_log.cc (raw checkpoints, proofs, entries).
#ifndef KTLOG_CLIENT_KTCTL_COMMANDS_H_
#define KTLOG_CLIENT_KTCTL_COMMANDS_H_

#include <map>
#include <string>
#include <vector>

#include "client/ktctl_context.h"

namespace ktlog {

using CommandFn = int (*)(Context& ctx, const std::vector<std::string>& args);

void RegisterAccountCommands(std::map<std::string, CommandFn>* commands);
void RegisterTrustCommands(std::map<std::string, CommandFn>* commands);
void RegisterLogCommands(std::map<std::string, CommandFn>* commands);

}  // namespace ktlog

#endif  // KTLOG_CLIENT_KTCTL_COMMANDS_H_
