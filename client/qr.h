// QR codes for verification codes (libqrencode): rendered for a terminal or
// written as an SVG or PNG file.
#ifndef KTLOG_CLIENT_QR_H_
#define KTLOG_CLIENT_QR_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ktlog {

// The QR code of `text` (error correction level M) as lines of Unicode half
// blocks, two module rows per line, with a quiet zone. Dark modules are
// drawn as blocks unless `invert` (for light-on-dark terminals).
absl::StatusOr<std::string> QrTerminal(const std::string& text, bool invert);

// Writes the QR code of `text` to `path`: SVG if it ends in .svg, PNG if
// .png. INVALID_ARGUMENT for another extension; FAILED_PRECONDITION if the
// file cannot be written.
absl::Status WriteQrFile(const std::string& text, const std::string& path);

}  // namespace ktlog

#endif  // KTLOG_CLIENT_QR_H_
