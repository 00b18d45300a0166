// Optional C++17 helper for plugins that read a provider's XML with
// tinyxml2 (link tinyxml2 yourself). Not part of the ABI; header-only.
// tinyxml2 refuses nesting deeper than 100 elements while parsing, so no
// later walk of a document recurses without bound.
//
//   tinyxml2::XMLDocument document;   // owns what the root points into
//   adf::Result<const tinyxml2::XMLElement *> root = adf::xml::root(document, body, "hosts");
//   if (!root) return failure(root.reason());
#ifndef AUTODNSFAILOVER_XML_HPP
#define AUTODNSFAILOVER_XML_HPP

#include <tinyxml2.h>

#include <string>
#include <string_view>

#include "plugin.hpp"
#include "result.hpp"

namespace adf::xml {

// Parses `text` into `document`; its root element when that is called
// `name`, else the reason (not well-formed, or another document, quoted).
inline Result<const tinyxml2::XMLElement *> root(tinyxml2::XMLDocument &document,
                                                 std::string_view text, const char *name) {
    using Out = Result<const tinyxml2::XMLElement *>;
    if (document.Parse(text.data(), text.size()) != tinyxml2::XML_SUCCESS)
        return Out::failure(std::string("not well-formed XML (") + document.ErrorStr() + ")");
    const tinyxml2::XMLElement *element = document.RootElement();
    if (element == nullptr || std::string(element->Name()) != name)
        return Out::failure(std::string("expected a document with a <") + name +
                            "> root element, got " + excerpt(std::string(text), 120));
    return element;
}

}  // namespace adf::xml

#endif  // AUTODNSFAILOVER_XML_HPP
