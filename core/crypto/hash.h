// Hash: a SHA-256 output with its own type, so that hashes and the data they
// are computed from (leaf_data, record bytes) cannot be swapped by accident.
#ifndef KTLOG_CORE_CRYPTO_HASH_H_
#define KTLOG_CORE_CRYPTO_HASH_H_

#include <array>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ktlog {

class Hash {
 public:
  static constexpr size_t kSize = 32;

  // All zero bytes.
  Hash() : bytes_{} {}

  // Requires data.size() == kSize (CHECKs: for trusted, fixed-size input).
  static Hash FromBytesOrDie(absl::string_view data);

  // INVALID_ARGUMENT unless data.size() == kSize.
  static absl::StatusOr<Hash> FromBytes(absl::string_view data);

  // INVALID_ARGUMENT unless `hex` is 64 hex digits.
  static absl::StatusOr<Hash> FromHex(absl::string_view hex);

  // INVALID_ARGUMENT unless `b64` is canonical padded base64 of 32 bytes.
  static absl::StatusOr<Hash> FromBase64(absl::string_view b64);

  absl::string_view view() const {
    return absl::string_view(reinterpret_cast<const char*>(bytes_.data()),
                             kSize);
  }
  std::string bytes() const { return std::string(view()); }
  std::string ToHex() const;
  std::string ToBase64() const;
  uint8_t* mutable_data() { return bytes_.data(); }
  const uint8_t* data() const { return bytes_.data(); }

  friend bool operator==(const Hash& a, const Hash& b) {
    return a.bytes_ == b.bytes_;
  }
  friend bool operator!=(const Hash& a, const Hash& b) { return !(a == b); }
  friend bool operator<(const Hash& a, const Hash& b) {
    return a.bytes_ < b.bytes_;
  }
  template <typename H>
  friend H AbslHashValue(H h, const Hash& x) {
    return H::combine(std::move(h), x.view());
  }

 private:
  std::array<uint8_t, kSize> bytes_;
};

}  // namespace ktlog

#endif  // KTLOG_CORE_CRYPTO_HASH_H_
