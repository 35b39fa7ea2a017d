#include "core/crypto/hash.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/util/bytes.h"
#include "core/util/status_macros.h"

namespace ktlog {

Hash Hash::FromBytesOrDie(absl::string_view data) {
  if (data.size() != kSize) abort();
  Hash h;
  memcpy(h.bytes_.data(), data.data(), kSize);
  return h;
}

absl::StatusOr<Hash> Hash::FromBytes(absl::string_view data) {
  if (data.size() != kSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("hash must be 32 bytes, got ", data.size()));
  }
  return FromBytesOrDie(data);
}

absl::StatusOr<Hash> Hash::FromHex(absl::string_view hex) {
  ASSIGN_OR_RETURN(std::string bytes, HexDecode(hex));
  return FromBytes(bytes);
}

absl::StatusOr<Hash> Hash::FromBase64(absl::string_view b64) {
  ASSIGN_OR_RETURN(std::string bytes, Base64Decode(b64));
  return FromBytes(bytes);
}

std::string Hash::ToHex() const { return HexEncode(view()); }

std::string Hash::ToBase64() const { return Base64Encode(view()); }

}  // namespace ktlog
