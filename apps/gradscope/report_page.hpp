#pragma once
// The page gradscope report writes: prose, preformatted tables, images and notes, as one HTML
// file that references its images as files beside it. Every text is escaped; a small inline
// script marks any image that did not load (on the page, in data-images on <body> and on the
// console), which the browser test reads.
#include <string>
#include <string_view>
#include <vector>

namespace gradscope::cli {

std::string html_escape(std::string_view text);

class Page {
 public:
  explicit Page(std::string title) : title_(std::move(title)) {}
  // A finding for the summary at the top of the page.
  void finding(const std::string& text);
  void heading(const std::string& text);
  void paragraph(const std::string& text);
  void preformatted(const std::string& text);
  // An important note (a missing tool, a caught bug), drawn as a box.
  void note(const std::string& text);
  // The image `file` beside the page with its caption, or, when it was not drawn, the caption and
  // why (missing).
  void image(const std::string& file, const std::string& caption, const std::string& missing = "");
  // Links to the files beside the page.
  void file_list(const std::vector<std::string>& files);
  std::string html() const;

 private:
  std::string title_, summary_, body_;
};

}  // namespace gradscope::cli
