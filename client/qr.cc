#include "client/qr.h"

#include <qrencode.h>
#include <zlib.h>

#include <memory>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/util/bytes.h"
#include "core/util/file_util.h"

namespace ktlog {
namespace {

constexpr int kQuiet = 2;  // quiet zone, in modules

struct QrDeleter {
  void operator()(QRcode* q) const { QRcode_free(q); }
};

// The module matrix with its quiet zone: true = dark.
absl::StatusOr<std::vector<std::vector<bool>>> Modules(
    const std::string& text) {
  std::unique_ptr<QRcode, QrDeleter> q(
      QRcode_encodeString8bit(text.c_str(), 0, QR_ECLEVEL_M));
  if (q == nullptr) {
    return absl::InvalidArgumentError("the text is too long for a QR code");
  }
  int n = q->width + 2 * kQuiet;
  std::vector<std::vector<bool>> m(n, std::vector<bool>(n, false));
  for (int y = 0; y < q->width; ++y) {
    for (int x = 0; x < q->width; ++x) {
      m[y + kQuiet][x + kQuiet] = q->data[y * q->width + x] & 1;
    }
  }
  return m;
}

void AppendPngChunk(const std::string& type, const std::string& data,
                    std::string* out) {
  AppendBigEndian(data.size(), 4, out);
  std::string body = type + data;
  out->append(body);
  uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(body.data()),
                    static_cast<uInt>(body.size()));
  AppendBigEndian(crc, 4, out);
}

absl::StatusOr<std::string> Png(const std::vector<std::vector<bool>>& m,
                                int scale) {
  uint32_t size = static_cast<uint32_t>(m.size() * scale);
  std::string raw;
  for (size_t y = 0; y < size; ++y) {
    raw.push_back('\0');  // filter: none
    for (size_t x = 0; x < size; ++x) {
      raw.push_back(m[y / scale][x / scale] ? '\0' : '\xff');
    }
  }
  uLongf len = compressBound(raw.size());
  std::string z(len, '\0');
  if (compress2(reinterpret_cast<Bytef*>(z.data()), &len,
                reinterpret_cast<const Bytef*>(raw.data()), raw.size(),
                Z_BEST_COMPRESSION) != Z_OK) {
    return absl::InternalError("zlib compression failed");
  }
  z.resize(len);
  std::string ihdr;
  AppendBigEndian(size, 4, &ihdr);
  AppendBigEndian(size, 4, &ihdr);
  ihdr += std::string("\x08\x00\x00\x00\x00", 5);  // 8-bit grey
  std::string png("\x89PNG\r\n\x1a\n", 8);
  AppendPngChunk("IHDR", ihdr, &png);
  AppendPngChunk("IDAT", z, &png);
  AppendPngChunk("IEND", "", &png);
  return png;
}

std::string Svg(const std::vector<std::vector<bool>>& m) {
  size_t n = m.size();
  std::string out =
      absl::StrCat("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 ",
                   n, " ", n, "\" width=\"", n * 8, "\" height=\"", n * 8,
                   "\" shape-rendering=\"crispEdges\">\n<rect width=\"100%\" "
                   "height=\"100%\" fill=\"#fff\"/>\n<path fill=\"#000\" d=\"");
  for (size_t y = 0; y < n; ++y) {
    for (size_t x = 0; x < n; ++x) {
      if (m[y][x]) absl::StrAppend(&out, "M", x, " ", y, "h1v1h-1z");
    }
  }
  out += "\"/>\n</svg>\n";
  return out;
}

}  // namespace

absl::StatusOr<std::string> QrTerminal(const std::string& text, bool invert) {
  absl::StatusOr<std::vector<std::vector<bool>>> m = Modules(text);
  if (!m.ok()) return m.status();
  size_t n = m->size();
  std::string out;
  for (size_t y = 0; y < n; y += 2) {
    for (size_t x = 0; x < n; ++x) {
      bool top = (*m)[y][x] != invert;
      bool bottom = (y + 1 < n ? (*m)[y + 1][x] : false) != invert;
      out += top && bottom ? "\u2588"
             : top         ? "\u2580"
             : bottom      ? "\u2584"
                           : " ";
    }
    out += "\n";
  }
  return out;
}

absl::Status WriteQrFile(const std::string& text, const std::string& path) {
  absl::StatusOr<std::vector<std::vector<bool>>> m = Modules(text);
  if (!m.ok()) return m.status();
  if (absl::EndsWith(path, ".svg")) {
    return WriteFileAtomically(path, Svg(*m), 0644);
  }
  if (absl::EndsWith(path, ".png")) {
    absl::StatusOr<std::string> png = Png(*m, 8);
    if (!png.ok()) return png.status();
    return WriteFileAtomically(path, *png, 0644);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("cannot tell the image format of ", path,
                   ": use a .svg or .png file name"));
}

}  // namespace ktlog
