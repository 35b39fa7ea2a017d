// Runs a libFuzzer target as a plain test (the default suite runs it with
// gcc): every file of the corpus directories given as arguments, and every
// single-byte change and truncation of each, goes through
// LLVMFuzzerTestOneInput, whose own checks abort on a broken invariant.
// The real fuzzing runs with clang and -fsanitize=fuzzer: `tools/dev fuzz`.
#include <dirent.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

void Run(const std::string& input) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()),
                         input.size());
}

}  // namespace

int main(int argc, char** argv) {
  size_t files = 0, runs = 0;
  for (int a = 1; a < argc; ++a) {
    DIR* dir = opendir(argv[a]);
    if (dir == nullptr) {
      fprintf(stderr, "cannot open corpus directory %s\n", argv[a]);
      return 1;
    }
    std::vector<std::string> inputs;
    while (dirent* e = readdir(dir)) {
      if (e->d_name[0] == '.') continue;
      std::ifstream in(std::string(argv[a]) + "/" + e->d_name,
                       std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      inputs.push_back(ss.str());
    }
    closedir(dir);
    for (const std::string& input : inputs) {
      ++files;
      Run(input);
      ++runs;
      for (size_t i = 0; i < input.size(); ++i) {
        for (int bit = 0; bit < 8; ++bit) {
          std::string m = input;
          m[i] = static_cast<char>(m[i] ^ (1 << bit));
          Run(m);
          ++runs;
        }
        Run(input.substr(0, i));
        ++runs;
      }
    }
  }
  if (files == 0) {
    fprintf(stderr, "empty corpus\n");
    return 1;
  }
  printf("replayed %zu corpus files as %zu inputs\n", files, runs);
  return 0;
}
