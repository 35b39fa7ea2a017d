#include "core/util/bytes.h"

#include <string.h>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace ktlog {

void WipeSecret(std::string* s) {
  if (!s->empty()) explicit_bzero(s->data(), s->size());
}

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

void AppendU16Prefixed(absl::string_view s, std::string* out) {
  AppendBigEndian(s.size(), 2, out);
  out->append(s.data(), s.size());
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

namespace {

// Decodes the code point at text[*i], advancing *i; -1 if malformed.
int32_t NextCodePoint(absl::string_view text, size_t* i) {
  unsigned char c = text[*i];
  int len;
  int32_t cp;
  if (c < 0x80) {
    ++*i;
    return c;
  } else if ((c & 0xe0) == 0xc0) {
    len = 2;
    cp = c & 0x1f;
  } else if ((c & 0xf0) == 0xe0) {
    len = 3;
    cp = c & 0x0f;
  } else if ((c & 0xf8) == 0xf0) {
    len = 4;
    cp = c & 0x07;
  } else {
    return -1;
  }
  if (*i + len > text.size()) return -1;
  for (int k = 1; k < len; ++k) {
    unsigned char cc = text[*i + k];
    if ((cc & 0xc0) != 0x80) return -1;
    cp = (cp << 6) | (cc & 0x3f);
  }
  static constexpr int32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
    return -1;
  }
  *i += len;
  return cp;
}

bool IsUnicodeSpace(int32_t cp) {
  switch (cp) {
    case ' ':
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case 0x85:
    case 0xa0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202f:
    case 0x205f:
    case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200a;
  }
}

bool IsControl(int32_t cp) { return cp < 0x20 || cp == 0x7f; }

template <typename Reject>
bool AllCodePoints(absl::string_view text, Reject reject) {
  size_t i = 0;
  while (i < text.size()) {
    int32_t cp = NextCodePoint(text, &i);
    if (cp < 0 || reject(cp)) return false;
  }
  return true;
}

}  // namespace

bool IsValidUtf8(absl::string_view text) {
  return AllCodePoints(text, [](int32_t) { return false; });
}

bool IsPrintableUtf8WithoutSpaces(absl::string_view text) {
  return AllCodePoints(
      text, [](int32_t cp) { return IsControl(cp) || IsUnicodeSpace(cp); });
}

bool IsPrintableUtf8(absl::string_view text) {
  return AllCodePoints(text, IsControl);
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
