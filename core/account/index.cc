#include "core/account/index.h"

#include "absl/strings/str_cat.h"
#include "core/crypto/crypto.h"
#include "core/util/bytes.h"

namespace ktlog {

const Hash kEmptyIndexHash = Hash();

Hash IndexLeafHash(const Hash& key, const Hash& value_hash) {
  static constexpr char kPrefix[1] = {0x10};
  return Sha256({absl::string_view(kPrefix, 1), key.view(), value_hash.view()});
}

Hash IndexNodeHash(const Hash& left, const Hash& right) {
  static constexpr char kPrefix[1] = {0x11};
  return Sha256({absl::string_view(kPrefix, 1), left.view(), right.view()});
}

std::string IndexProof::Encode() const {
  std::string out(1, static_cast<char>(kind));
  AppendBigEndian(siblings.size(), 2, &out);
  std::string bitmap((siblings.size() + 7) / 8, '\0');
  std::string hashes;
  for (size_t i = 0; i < siblings.size(); ++i) {
    if (siblings[i] == kEmptyIndexHash) continue;
    bitmap[i / 8] |= static_cast<char>(0x80 >> (i % 8));
    absl::StrAppend(&hashes, siblings[i].view());
  }
  out += bitmap;
  out += hashes;
  if (kind == Kind::kAbsentOtherLeaf) {
    absl::StrAppend(&out, other_key.view());
    absl::StrAppend(&out, other_value_hash.view());
  }
  return out;
}

absl::StatusOr<IndexProof> DecodeIndexProof(absl::string_view data) {
  ByteReader r(data);
  uint8_t kind = 0;
  uint16_t depth = 0;
  absl::string_view bitmap;
  r.ReadU8(&kind);
  r.ReadU16(&depth);
  if (r.failed() || kind < 1 || kind > 3 || depth > 256) {
    return absl::InvalidArgumentError(
        "malformed index proof: bad kind or depth");
  }
  IndexProof p;
  p.kind = static_cast<IndexProof::Kind>(kind);
  if (!r.ReadBytes((depth + 7) / 8, &bitmap)) {
    return absl::InvalidArgumentError("malformed index proof: truncated");
  }
  for (size_t i = depth; i < bitmap.size() * 8; ++i) {
    if (bitmap[i / 8] & (0x80 >> (i % 8))) {
      return absl::InvalidArgumentError(
          "malformed index proof: bitmap bits set beyond the depth");
    }
  }
  for (size_t i = 0; i < depth; ++i) {
    if (bitmap[i / 8] & (0x80 >> (i % 8))) {
      absl::string_view h;
      if (!r.ReadBytes(Hash::kSize, &h)) break;
      p.siblings.push_back(Hash::FromBytesOrDie(h));
      if (p.siblings.back() == kEmptyIndexHash) {
        return absl::InvalidArgumentError(
            "malformed index proof: an empty sibling marked as present");
      }
    } else {
      p.siblings.push_back(kEmptyIndexHash);
    }
  }
  if (p.kind == IndexProof::Kind::kAbsentOtherLeaf) {
    absl::string_view k, v;
    if (r.ReadBytes(Hash::kSize, &k) && r.ReadBytes(Hash::kSize, &v)) {
      p.other_key = Hash::FromBytesOrDie(k);
      p.other_value_hash = Hash::FromBytesOrDie(v);
    }
  }
  if (r.failed()) {
    return absl::InvalidArgumentError("malformed index proof: truncated");
  }
  if (!r.empty()) {
    return absl::InvalidArgumentError("malformed index proof: trailing bytes");
  }
  return p;
}

absl::Status VerifyIndexProof(const Hash& root, const Hash& key,
                              const std::optional<Hash>& value_hash,
                              const IndexProof& proof) {
  size_t depth = proof.siblings.size();
  if (depth > 256) {
    return absl::InvalidArgumentError("index proof is deeper than 256");
  }
  Hash h;
  switch (proof.kind) {
    case IndexProof::Kind::kMembership:
      if (!value_hash.has_value()) {
        return absl::InvalidArgumentError(
            "a membership proof was given where absence is claimed");
      }
      h = IndexLeafHash(key, *value_hash);
      break;
    case IndexProof::Kind::kAbsentEmpty:
      if (value_hash.has_value()) {
        return absl::InvalidArgumentError(
            "an absence proof was given for an account that is claimed to "
            "exist");
      }
      h = kEmptyIndexHash;
      break;
    case IndexProof::Kind::kAbsentOtherLeaf:
      if (value_hash.has_value()) {
        return absl::InvalidArgumentError(
            "an absence proof was given for an account that is claimed to "
            "exist");
      }
      if (proof.other_key == key) {
        return absl::InvalidArgumentError(
            "absence proof ends at the key's own leaf");
      }
      for (size_t i = 0; i < depth; ++i) {
        if (KeyBit(proof.other_key, i) != KeyBit(key, i)) {
          return absl::InvalidArgumentError(
              "absence proof ends at a leaf off the key's path");
        }
      }
      h = IndexLeafHash(proof.other_key, proof.other_value_hash);
      break;
    default:
      return absl::InvalidArgumentError("unknown index proof kind");
  }
  // Soundness needs no check that the path is canonical: leaf, internal and
  // empty hashes are domain-separated, so a root determines which node sits
  // at each position on the key's path (docs/index.md).
  for (size_t i = depth; i-- > 0;) {
    h = KeyBit(key, static_cast<int>(i)) == 0
            ? IndexNodeHash(h, proof.siblings[i])
            : IndexNodeHash(proof.siblings[i], h);
  }
  if (h != root) {
    return absl::DataLossError(
        absl::StrCat("index proof leads to root ", h.ToHex(),
                     ", not the checkpoint's ", root.ToHex()));
  }
  return absl::OkStatus();
}

}  // namespace ktlog
