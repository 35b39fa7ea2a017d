// Byte-string helpers shared by every encoding in ktlog: hex and strict
// standard base64 (RFC 4648 §4, padded, canonical), big-endian integers, and
// a bounds-checked reader for the binary formats in docs/formats.md.
//
// Byte strings are std::string (owning) and absl::string_view (borrowed).
#ifndef KTLOG_CORE_UTIL_BYTES_H_
#define KTLOG_CORE_UTIL_BYTES_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ktlog {

// Lower-case hex of `data`.
std::string HexEncode(absl::string_view data);

// Decodes hex (either case). INVALID_ARGUMENT on odd length or a non-hex
// character.
absl::StatusOr<std::string> HexDecode(absl::string_view hex);

// Standard padded base64 of `data`.
std::string Base64Encode(absl::string_view data);

// Decodes standard padded base64, strictly: no whitespace, no URL alphabet,
// padding required and canonical (re-encoding gives back `b64`).
// INVALID_ARGUMENT otherwise.
absl::StatusOr<std::string> Base64Decode(absl::string_view b64);

// Appends `value` big-endian in `width` bytes (1, 2, 4 or 8).
void AppendBigEndian(uint64_t value, int width, std::string* out);
// Appends `s` after its length as a u16 big-endian (`s` is at most 65535
// bytes).
void AppendU16Prefixed(absl::string_view s, std::string* out);

// Reads a big-endian unsigned integer of `width` bytes from `data`.
// Requires data.size() >= width.
uint64_t ReadBigEndian(absl::string_view data, int width);

// Parses an ASCII decimal uint64 with no sign, no leading zeros (except "0")
// and no overflow. INVALID_ARGUMENT otherwise.
absl::StatusOr<uint64_t> ParseDecimalU64(absl::string_view text);

// Overwrites the bytes of `s` with zeros in a way the compiler does not
// elide: for secrets (key-file text, keys, values that would reveal a key)
// before their memory is released.
void WipeSecret(std::string* s);

// True iff `text` is well-formed UTF-8 (no overlongs, surrogates or code
// points above U+10FFFF).
bool IsValidUtf8(absl::string_view text);

// True iff `text` is valid UTF-8 containing no control character (below
// U+0020, or U+007F) and no Unicode space (Go's unicode.IsSpace set).
bool IsPrintableUtf8WithoutSpaces(absl::string_view text);

// True iff `text` is valid UTF-8 with no control character (below U+0020 or
// U+007F); spaces allowed.
bool IsPrintableUtf8(absl::string_view text);

// A cursor over a binary encoding. Every read checks bounds; after the first
// failure all reads fail. Not thread-safe.
class ByteReader {
 public:
  explicit ByteReader(absl::string_view data) : rest_(data) {}

  // Each returns false (and sets the failed state) if fewer bytes remain.
  bool ReadU8(uint8_t* out);
  bool ReadU16(uint16_t* out);
  bool ReadU64(uint64_t* out);
  bool ReadBytes(size_t n, absl::string_view* out);
  // A u16 big-endian length followed by that many bytes.
  bool ReadU16Prefixed(absl::string_view* out);

  bool failed() const { return failed_; }
  bool empty() const { return rest_.empty(); }
  size_t remaining() const { return rest_.size(); }

 private:
  absl::string_view rest_;
  bool failed_ = false;
};

}  // namespace ktlog

#endif  // KTLOG_CORE_UTIL_BYTES_H_
