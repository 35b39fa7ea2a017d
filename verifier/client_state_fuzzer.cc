// Fuzzes the client state file parser (a file on disk others may have
// touched): it never crashes, and a state it accepts serialises to text that
// parses back to a state with the same serialisation.
#include <cstdlib>
#include <string>

#include "verifier/client_state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<ktlog::ClientState> state =
      ktlog::ParseClientState(input, "fuzz/state.json");
  if (!state.ok()) return 0;
  std::string text = ktlog::SerializeClientState(*state);
  absl::StatusOr<ktlog::ClientState> again =
      ktlog::ParseClientState(text, "fuzz/state.json");
  if (!again.ok() || ktlog::SerializeClientState(*again) != text) abort();
  return 0;
}
