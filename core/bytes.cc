#include "core/bytes.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace ktlog {

std::string HexEncode(absl::string_view data) {
  return absl::BytesToHexString(data);
}

absl::StatusOr<std::string> HexDecode(absl::string_view hex) {
  if (hex.size() % 2 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("hex string has odd length ", hex.size()));
  }
  for (char c : hex) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError("hex string has a non-hex character");
    }
  }
  return absl::HexStringToBytes(hex);
}

std::string Base64Encode(absl::string_view data) {
  return absl::Base64Escape(data);
}

absl::StatusOr<std::string> Base64Decode(absl::string_view b64) {
  std::string out;
  if (b64.size() % 4 != 0 || !absl::Base64Unescape(b64, &out) ||
      absl::Base64Escape(out) != b64) {
    return absl::InvalidArgumentError(
        "not canonical padded standard base64 (RFC 4648 section 4)");
  }
  return out;
}

void AppendBigEndian(uint64_t value, int width, std::string* out) {
  for (int i = width - 1; i >= 0; --i) {
    out->push_back(static_cast<char>((value >> (8 * i)) & 0xff));
  }
}

uint64_t ReadBigEndian(absl::string_view data, int width) {
  uint64_t v = 0;
  for (int i = 0; i < width; ++i) {
    v = (v << 8) | static_cast<uint8_t>(data[i]);
  }
  return v;
}

absl::StatusOr<uint64_t> ParseDecimalU64(absl::string_view text) {
  if (text.empty() || text.size() > 20) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a decimal uint64: \"", absl::CHexEscape(text), "\""));
  }
  if (text.size() > 1 && text[0] == '0') {
    return absl::InvalidArgumentError(
        absl::StrCat("decimal number has a leading zero: \"", text, "\""));
  }
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return absl::InvalidArgumentError(absl::StrCat(
          "not a decimal uint64: \"", absl::CHexEscape(text), "\""));
    }
    uint64_t digit = c - '0';
    if (v > (UINT64_MAX - digit) / 10) {
      return absl::InvalidArgumentError(
          absl::StrCat("decimal number overflows uint64: \"", text, "\""));
    }
    v = v * 10 + digit;
  }
  return v;
}

bool ByteReader::ReadBytes(size_t n, absl::string_view* out) {
  if (failed_ || rest_.size() < n) {
    failed_ = true;
    return false;
  }
  *out = rest_.substr(0, n);
  rest_.remove_prefix(n);
  return true;
}

bool ByteReader::ReadU8(uint8_t* out) {
  absl::string_view b;
  if (!ReadBytes(1, &b)) return false;
  *out = static_cast<uint8_t>(b[0]);
  return true;
}

bool ByteReader::ReadU16(uint16_t* out) {
  absl::string_view b;
  if (!ReadBytes(2, &b)) return false;
  *out = static_cast<uint16_t>(ReadBigEndian(b, 2));
  return true;
}

bool ByteReader::ReadU64(uint64_t* out) {
  absl::string_view b;
  if (!ReadBytes(8, &b)) return false;
  *out = ReadBigEndian(b, 8);
  return true;
}

bool ByteReader::ReadU16Prefixed(absl::string_view* out) {
  uint16_t n;
  return ReadU16(&n) && ReadBytes(n, out);
}

}  // namespace ktlog
