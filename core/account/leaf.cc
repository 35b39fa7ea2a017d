#include "core/account/leaf.h"

#include "absl/strings/str_cat.h"
#include "core/crypto/crypto.h"
#include "core/util/bytes.h"

namespace ktlog {

std::string Leaf::Encode() const {
  std::string out(1, static_cast<char>(kLeafFormat));
  absl::StrAppend(&out, position.view());
  AppendBigEndian(version, 8, &out);
  AppendBigEndian(timestamp_ms, 8, &out);
  absl::StrAppend(&out, record_commitment.view(), state_commitment.view());
  return out;
}

absl::StatusOr<Leaf> DecodeLeaf(absl::string_view data) {
  if (data.size() != kLeafSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("a log leaf is ", kLeafSize, " bytes, not ", data.size()));
  }
  if (static_cast<uint8_t>(data[0]) != kLeafFormat) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown log leaf format ",
                     static_cast<int>(static_cast<uint8_t>(data[0]))));
  }
  Leaf l;
  l.position = Hash::FromBytesOrDie(data.substr(1, 32));
  l.version = ReadBigEndian(data.substr(33, 8), 8);
  l.timestamp_ms = ReadBigEndian(data.substr(41, 8), 8);
  l.record_commitment = Hash::FromBytesOrDie(data.substr(49, 32));
  l.state_commitment = Hash::FromBytesOrDie(data.substr(81, 32));
  if (l.version == 0) {
    return absl::InvalidArgumentError("a log leaf's version starts at 1");
  }
  return l;
}

std::string AccountVrfInput(absl::string_view account_id) {
  return absl::StrCat("ktlog/v1 account\n", account_id);
}

const Hash& ErasedCommitment() {
  static const Hash* erased = new Hash(Sha256("ktlog erased account v1\n"));
  return *erased;
}

bool IsErasure(const Leaf& leaf) {
  return leaf.record_commitment == ErasedCommitment() &&
         leaf.state_commitment == ErasedCommitment();
}

Hash IndexValueHash(uint64_t version, const Hash& state_commitment) {
  static constexpr char kPrefix[1] = {0x12};
  std::string v;
  AppendBigEndian(version, 8, &v);
  return Sha256({absl::string_view(kPrefix, 1), v, state_commitment.view()});
}

}  // namespace ktlog
