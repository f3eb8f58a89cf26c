#include "report_page.hpp"

#include <fmt/format.h>

namespace gradscope::cli {

std::string html_escape(std::string_view text) {
  std::string s;
  for (const char c : text) {
    switch (c) {
      case '&': s += "&amp;"; break;
      case '<': s += "&lt;"; break;
      case '>': s += "&gt;"; break;
      case '"': s += "&quot;"; break;
      case '\'': s += "&#39;"; break;
      default: s += c;
    }
  }
  return s;
}

void Page::finding(const std::string& text) { summary_ += "<li>" + html_escape(text) + "</li>\n"; }

void Page::heading(const std::string& text) { body_ += "<h2>" + html_escape(text) + "</h2>\n"; }

void Page::paragraph(const std::string& text) { body_ += "<p>" + html_escape(text) + "</p>\n"; }

void Page::preformatted(const std::string& text) {
  body_ += "<pre>" + html_escape(text) + "</pre>\n";
}

void Page::note(const std::string& text) {
  body_ += "<p class=\"note\">" + html_escape(text) + "</p>\n";
}

void Page::image(const std::string& file, const std::string& caption, const std::string& missing) {
  if (!missing.empty()) {
    body_ += fmt::format("<p class=\"missing\">Not drawn: {} ({}): {}</p>\n", html_escape(caption),
                         html_escape(file), html_escape(missing));
    return;
  }
  const std::string f = html_escape(file), c = html_escape(caption);
  body_ += fmt::format(
      "<figure><a href=\"{0}\"><img src=\"{0}\" alt=\"{1}\"></a><figcaption>{1}</figcaption>"
      "</figure>\n",
      f, c);
}

void Page::file_list(const std::vector<std::string>& files) {
  body_ += "<ul class=\"files\">\n";
  for (const auto& f : files) {
    const std::string e = html_escape(f);
    body_ += fmt::format("<li><a href=\"{0}\">{0}</a></li>\n", e);
  }
  body_ += "</ul>\n";
}

std::string Page::html() const {
  return fmt::format(
      R"(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{0}</title>
<style>
body {{ font-family: Helvetica, Arial, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }}
h1 {{ border-bottom: 2px solid #2166ac; }}
h2 {{ margin-top: 2em; border-bottom: 1px solid #ccc; }}
pre {{ background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 12px; }}
figure {{ margin: 1em 0; }}
figure img {{ max-width: 100%; max-height: 720px; border: 1px solid #ddd; }}
figcaption {{ color: #555; font-size: 0.9em; }}
.note {{ background: #fff4d6; border-left: 4px solid #e0a800; padding: 0.6em; }}
.missing {{ background: #fde2e2; border-left: 4px solid #b2182b; padding: 0.6em; }}
</style>
</head>
<body>
<h1>{0}</h1>
{1}{2}<script>
// Marks every image that did not load, for a reader and for the browser test.
window.addEventListener('load', function () {{
  var failed = [];
  for (var i = 0; i < document.images.length; ++i) {{
    var img = document.images[i];
    if (!img.complete || img.naturalWidth === 0) {{
      failed.push(img.getAttribute('src'));
      img.insertAdjacentHTML('afterend', '<p class="missing">This image did not load.</p>');
    }}
  }}
  document.body.setAttribute('data-images', failed.length
      ? 'failed: ' + failed.join(' ') : 'loaded ' + document.images.length);
  if (failed.length) console.error('images that did not load: ' + failed.join(' '));
}});
</script>
</body>
</html>
)",
      html_escape(title_),
      summary_.empty() ? std::string() : "<h2>In short</h2>\n<ul class=\"summary\">\n" + summary_ + "</ul>\n",
      body_);
}

}  // namespace gradscope::cli
