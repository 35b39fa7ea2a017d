#include "verifier/codes.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "core/crypto/crypto.h"
#include "core/util/bytes.h"

namespace ktlog {
namespace {

constexpr absl::string_view kScannablePrefix = "ktlog-code:";

absl::string_view View(const Fingerprint& f) {
  return absl::string_view(reinterpret_cast<const char*>(f.data()), f.size());
}

// A protobuf bytes field with a one-byte tag and length.
void AppendField(uint8_t tag, absl::string_view value, std::string* out) {
  out->push_back(static_cast<char>(tag));
  out->push_back(static_cast<char>(value.size()));
  out->append(value.data(), value.size());
}

}  // namespace

Fingerprint PartyFingerprint(absl::string_view key, absl::string_view id,
                             int iterations) {
  static constexpr char kVersion[2] = {0, 0};
  Fingerprint h = Sha512({absl::string_view(kVersion, 2), key, id, key});
  for (int i = 1; i < iterations; ++i) h = Sha512({View(h), key});
  return h;
}

std::string FingerprintDigits(const Fingerprint& f) {
  std::string out;
  for (int chunk = 0; chunk < 6; ++chunk) {
    uint64_t v = ReadBigEndian(View(f).substr(chunk * 5, 5), 5);
    absl::StrAppendFormat(&out, "%05d", static_cast<int>(v % 100000));
  }
  return out;
}

std::string GroupDigits(absl::string_view digits, int per_line) {
  std::string out;
  for (size_t i = 0; i < digits.size(); i += 5) {
    if (i > 0) out += (i / 5) % per_line == 0 ? "\n" : " ";
    absl::StrAppend(&out, digits.substr(i, 5));
  }
  return out;
}

SafetyCode SafetyCode::Compute(absl::string_view local_key,
                               absl::string_view local_id,
                               absl::string_view remote_key,
                               absl::string_view remote_id, int iterations) {
  Fingerprint local = PartyFingerprint(local_key, local_id, iterations);
  Fingerprint remote = PartyFingerprint(remote_key, remote_id, iterations);
  SafetyCode c;
  c.local_digits_ = FingerprintDigits(local);
  c.remote_digits_ = FingerprintDigits(remote);
  c.local_fp_ = std::string(View(local).substr(0, 32));
  c.remote_fp_ = std::string(View(remote).substr(0, 32));
  return c;
}

std::string SafetyCode::Digits() const {
  return local_digits_ < remote_digits_ ? local_digits_ + remote_digits_
                                        : remote_digits_ + local_digits_;
}

std::string SafetyCode::Scannable() const {
  std::string inner_local, inner_remote, out;
  AppendField(0x0a, local_fp_, &inner_local);
  AppendField(0x0a, remote_fp_, &inner_remote);
  out.push_back(0x08);  // field 1, varint: version
  out.push_back(static_cast<char>(kScannableCodeVersion));
  AppendField(0x12, inner_local, &out);
  AppendField(0x1a, inner_remote, &out);
  return out;
}

std::string SafetyCode::ScannableText() const {
  return absl::StrCat(kScannablePrefix, absl::WebSafeBase64Escape(Scannable()));
}

absl::StatusOr<bool> SafetyCode::Matches(absl::string_view theirs) const {
  theirs = absl::StripAsciiWhitespace(theirs);
  if (absl::ConsumePrefix(&theirs, kScannablePrefix)) {
    std::string bytes;
    if (!absl::WebSafeBase64Unescape(theirs, &bytes) || bytes.size() != 74 ||
        bytes[0] != 0x08 || bytes.substr(2, 4) != "\x12\x22\x0a\x20" ||
        bytes.substr(38, 4) != "\x1a\x22\x0a\x20") {
      return absl::InvalidArgumentError(
          "not a ktlog scannable code (ktlog-code:...)");
    }
    if (static_cast<uint8_t>(bytes[1]) != kScannableCodeVersion) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the scanned code is version ", static_cast<int>(bytes[1]),
          "; this client makes version ", kScannableCodeVersion));
    }
    // Their local fingerprint is our remote one, and vice versa.
    bool a =
        ConstantTimeEquals(absl::string_view(bytes).substr(6, 32), remote_fp_);
    bool b =
        ConstantTimeEquals(absl::string_view(bytes).substr(42, 32), local_fp_);
    return a && b;
  }
  std::string digits;
  for (char c : theirs) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) continue;
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(
          "a code is 60 digits (spaces allowed) or a scanned ktlog-code:...");
    }
    digits.push_back(c);
  }
  if (digits.size() != 60) {
    return absl::InvalidArgumentError(
        absl::StrCat("a code has 60 digits; this one has ", digits.size()));
  }
  return ConstantTimeEquals(digits, Digits());
}

std::string PublicCode(absl::string_view key, absl::string_view id) {
  return GroupDigits(FingerprintDigits(PartyFingerprint(key, id)), 6);
}

}  // namespace ktlog
