#include "fuzz/case_file.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_format.h"
#include "fuzz/report.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/wire_format_lite.h"

namespace shadowdiff {
namespace {

namespace fs = std::filesystem;
using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedInputStream;

// Keeps the first error the text parser reports, with its position.
class FirstError : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    if (message_.empty()) {
      line_ = line + 1;
      column_ = column + 1;
      message_ = message;
    }
  }
  std::string Describe(std::string_view source) const {
    return absl::StrFormat("%s:%d:%d: %s", source, line_, column_, message_);
  }

 private:
  int line_ = 0;
  int column_ = 0;
  std::string message_;
};

// The offset of the first top-level field that cannot be read, for the error
// message (the protobuf parser itself does not say where it stopped).
int64_t FirstBadFieldOffset(std::string_view bytes) {
  CodedInputStream input(reinterpret_cast<const uint8_t*>(bytes.data()),
                         static_cast<int>(bytes.size()));
  while (true) {
    const int64_t offset = input.CurrentPosition();
    const uint32_t tag = input.ReadTag();
    if (tag == 0) return input.ExpectAtEnd() ? -1 : offset;
    if (!WireFormatLite::SkipField(&input, tag)) return offset;
  }
}

bool IsCaseFileName(const fs::path& path) {
  const std::string ext = path.extension().string();
  return IsTextCaseName(path.string()) || ext.empty() || ext == ".pb" ||
         ext == ".binpb";
}

}  // namespace

bool IsTextCaseName(std::string_view path) {
  return path.ends_with(".textproto") || path.ends_with(".txtpb") ||
         path.ends_with(".pbtxt");
}

absl::StatusOr<Case> ParseTextCase(std::string_view text,
                                   std::string_view source) {
  Case c;
  FirstError errors;
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(std::string(text), &c)) {
    return absl::InvalidArgumentError(errors.Describe(source));
  }
  return c;
}

absl::StatusOr<Case> ParseBinaryCase(std::string_view bytes,
                                     std::string_view source) {
  Case c;
  if (c.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return c;
  const int64_t offset = FirstBadFieldOffset(bytes);
  if (offset < 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: not a binary shadowdiff.Case (a nested message is malformed; %d "
        "bytes)",
        source, bytes.size()));
  }
  return absl::InvalidArgumentError(absl::StrFormat(
      "%s: not a binary shadowdiff.Case: malformed or truncated field at byte "
      "offset %d of %d",
      source, offset, bytes.size()));
}

absl::StatusOr<Case> ReadCaseFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrFormat("%s: cannot open", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) {
    return absl::DataLossError(absl::StrFormat("%s: read error", path));
  }
  return IsTextCaseName(path) ? ParseTextCase(buffer.str(), path)
                              : ParseBinaryCase(buffer.str(), path);
}

absl::Status WriteCaseFile(const std::string& path, const Case& c,
                           std::string_view text_header) {
  std::string bytes;
  if (IsTextCaseName(path)) {
    bytes = std::string(text_header) + CaseText(c);
  } else if (!c.SerializeToString(&bytes)) {
    return absl::InternalError(absl::StrFormat("%s: cannot serialize", path));
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  out.close();
  if (!out) {
    return absl::UnavailableError(absl::StrFormat("%s: cannot write", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> ListCaseFiles(
    const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const std::string& path : paths) {
    std::error_code ec;
    if (fs::is_regular_file(path, ec)) {
      files.push_back(path);
      continue;
    }
    if (!fs::is_directory(path, ec)) {
      return absl::NotFoundError(
          absl::StrFormat("%s: no such file or directory", path));
    }
    std::vector<std::string> found;
    for (fs::recursive_directory_iterator it(path, ec), end; !ec && it != end;
         it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (!name.empty() && name[0] == '.') {
        if (it->is_directory()) it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file() && IsCaseFileName(it->path())) {
        found.push_back(it->path().string());
      }
    }
    if (ec) {
      return absl::UnavailableError(
          absl::StrFormat("%s: %s", path, ec.message()));
    }
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  return files;
}

}  // namespace shadowdiff
