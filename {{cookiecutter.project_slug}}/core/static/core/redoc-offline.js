// Redoc's side menu shows its logo from cdn.redoc.ly, with no option to turn it off; the page's
// Content-Security-Policy would block the request and report a violation. Give the logo an empty image
// instead, whether its source is set as an attribute or as a property: Redoc hides a logo that fails to
// load. Load this before Redoc's bundle.
(() => {
  const logo = "https://cdn.redoc.ly/redoc/logo-mini.svg";
  const offline = (value) => (value === logo ? "data:," : value);
  const setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    const isLogo = this instanceof HTMLImageElement && name.toLowerCase() === "src";
    return setAttribute.call(this, name, isLogo ? offline(value) : value);
  };
  const src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    ...src,
    set(value) {
      src.set.call(this, offline(value));
    },
  });
})();
