// Fuzzes VRF verification (RFC 9381), the parser of untrusted VRF keys and
// proofs: input = public key (32) || proof (80) || alpha. Whatever it
// accepts must verify again to the same output, and must no longer verify
// for another alpha; nothing may crash.
#include <cstdlib>
#include <string>

#include "core/crypto/vrf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using ktlog::VrfPublicKey;
  std::string input(reinterpret_cast<const char*>(data), size);
  if (input.size() < VrfPublicKey::kSize) return 0;
  absl::StatusOr<VrfPublicKey> key =
      VrfPublicKey::FromBytes(input.substr(0, VrfPublicKey::kSize));
  if (!key.ok()) return 0;
  std::string rest = input.substr(VrfPublicKey::kSize);
  std::string proof = rest.substr(0, VrfPublicKey::kProofSize);
  std::string alpha = rest.size() > VrfPublicKey::kProofSize
                          ? rest.substr(VrfPublicKey::kProofSize)
                          : "";
  absl::StatusOr<ktlog::Hash> output = key->Verify(alpha, proof);
  if (!output.ok()) return 0;
  absl::StatusOr<ktlog::Hash> again = key->Verify(alpha, proof);
  if (!again.ok() || *again != *output) abort();
  if (key->Verify(alpha + "x", proof).ok()) abort();
  return 0;
}
