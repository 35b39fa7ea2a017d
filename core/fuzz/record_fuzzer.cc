// Fuzzes the decoders of the private directory's encodings: records,
// account states and public leaves. Whatever they accept must re-encode to
// the same bytes, and checking and applying it must not crash.
#include <cstdlib>
#include <string>

#include "core/account/account.h"
#include "core/account/leaf.h"
#include "core/account/record.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<ktlog::DeviceRecord> r = ktlog::DecodeRecord(input);
  if (r.ok()) {
    if (r->Encode() != input) abort();  // the encoding is canonical
    (void)r->VerifySignature();
    ktlog::AccountState state;
    state.account_id = r->account_id;
    (void)ktlog::ApplyRecord(*r, 0, &state);
  }
  absl::StatusOr<ktlog::AccountState> s = ktlog::DecodeAccountState(input);
  if (s.ok() && s->Encode() != input) abort();
  absl::StatusOr<ktlog::Leaf> leaf = ktlog::DecodeLeaf(input);
  if (leaf.ok() && leaf->Encode() != input) abort();
  return 0;
}
