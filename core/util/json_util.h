// JSON text of values that may hold strings from untrusted input (a note
// or message a log sent, which need not be valid UTF-8): nlohmann's dump()
// throws on invalid UTF-8, which would end the program. One way to turn
// JSON into text, for output, state files and evidence.
#ifndef KTLOG_CORE_UTIL_JSON_UTIL_H_
#define KTLOG_CORE_UTIL_JSON_UTIL_H_

#include <string>

#include "nlohmann/json.hpp"

namespace ktlog {

// j.dump(indent), with every invalid UTF-8 sequence in a string replaced
// by U+FFFD instead of throwing.
std::string JsonText(const nlohmann::json& j, int indent = -1);

}  // namespace ktlog

#endif  // KTLOG_CORE_UTIL_JSON_UTIL_H_
