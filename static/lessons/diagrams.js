// Draw the lesson's mermaid diagrams as inline SVG, loading the vendored mermaid only when a
// diagram comes near the viewport. Our CSP allows styles only from 'self' or with the page's
// nonce, and mermaid writes <style> elements and style="" attributes while it draws: we give
// the former the nonce and turn the latter into CSSOM writes (which CSP allows).
const self = document.querySelector("script[data-mermaid]");
const nonce = self ? self.nonce : "";
const figures = [...document.querySelectorAll("[data-diagram]")];
let loading = null;
let counter = 0;

// Markup is rewritten before any parser sees it: style="" becomes data-csp-style="" (applied
// afterwards through CSSOM) and <style> elements get the nonce. Chromium checks CSP even in
// inert documents (DOMParser, DOMPurify's templates), so rewriting the string is the only way.
const STYLE_ATTRIBUTE = /(\s)style\s*=\s*("[^"]*"|'[^']*')/gi;
const STYLE_ELEMENT = /<style(?=[\s>])/gi;

function neutralise(markup) {
  return String(markup).replace(STYLE_ATTRIBUTE, "$1data-csp-style=$2").replace(STYLE_ELEMENT, `<style nonce="${nonce}"`);
}

function applyStyles(root) {
  const elements = root.matches?.("[data-csp-style]") ? [root] : [];
  for (const element of [...elements, ...root.querySelectorAll("[data-csp-style]")]) {
    element.style.cssText = element.getAttribute("data-csp-style");
    element.removeAttribute("data-csp-style");
  }
}

function patchForCsp() {
  const createElement = Document.prototype.createElement;
  const createElementNS = Document.prototype.createElementNS;
  const stamp = (element) => {
    if (element && element.localName === "style") element.setAttribute("nonce", nonce);
    return element;
  };
  Document.prototype.createElement = function (...args) {
    return stamp(createElement.apply(this, args));
  };
  Document.prototype.createElementNS = function (...args) {
    return stamp(createElementNS.apply(this, args));
  };
  const setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    if (String(name).toLowerCase() === "style") {
      return setAttribute.call(this, "data-csp-style", value), applyStyles(this);
    }
    return setAttribute.call(this, name, value);
  };
  const innerHTML = Object.getOwnPropertyDescriptor(Element.prototype, "innerHTML");
  Object.defineProperty(Element.prototype, "innerHTML", {
    configurable: true,
    get: innerHTML.get,
    set(markup) {
      innerHTML.set.call(this, neutralise(markup));
      if (this.ownerDocument === document) applyStyles(this);
    },
  });
  const insertAdjacentHTML = Element.prototype.insertAdjacentHTML;
  Element.prototype.insertAdjacentHTML = function (position, markup) {
    insertAdjacentHTML.call(this, position, neutralise(markup));
    if (this.ownerDocument === document) applyStyles(this.parentNode || this);
  };
  const parseFromString = DOMParser.prototype.parseFromString;
  DOMParser.prototype.parseFromString = function (markup, type) {
    return parseFromString.call(this, neutralise(markup), type);
  };
}

function loadMermaid() {
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = self.dataset.mermaid;
      script.nonce = nonce;
      script.onload = () => resolve(window.mermaid);
      script.onerror = () => reject(new Error("mermaid failed to load"));
      document.head.append(script);
    }).then((mermaid) => {
      patchForCsp();
      const dark = window.matchMedia("(prefers-color-scheme: dark)").matches;
      mermaid.initialize({
        startOnLoad: false,
        securityLevel: "strict",
        theme: dark ? "dark" : "default",
        // The dark theme's edge labels (#ccc on #585858) miss WCAG AA contrast; a darker chip passes.
        themeVariables: dark ? { edgeLabelBackground: "#2f3746" } : {},
        fontFamily: getComputedStyle(document.body).fontFamily,
        flowchart: { useMaxWidth: true },
        sequence: { useMaxWidth: true },
      });
      return mermaid;
    });
  }
  return loading;
}

function insertSvg(canvas, markup) {
  const holder = document.createElement("div");
  holder.innerHTML = markup; // the patched setter: styles through CSSOM
  const svg = holder.querySelector("svg");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  canvas.querySelector("[data-diagram-status]")?.remove();
  canvas.append(svg);
  applyStyles(svg);
  canvas.dataset.rendered = "true";
}

async function draw(figure) {
  const canvas = figure.querySelector("[data-diagram-canvas]");
  const status = canvas.querySelector("[data-diagram-status]");
  const source = canvas.querySelector(".mermaid-source").textContent;
  try {
    const mermaid = await loadMermaid();
    counter += 1;
    const { svg } = await mermaid.render(`mermaid-diagram-${counter}`, source);
    insertSvg(canvas, svg);
  } catch (error) {
    if (status) status.textContent = "This diagram could not be drawn. Its description and source are below.";
    console.error(error);
  }
}

// Draw one at a time, in page order: mermaid keeps global state while rendering.
let queue = Promise.resolve();
const enqueue = (figure) => {
  queue = queue.then(() => draw(figure));
};

if (self && figures.length) {
  for (const status of document.querySelectorAll("[data-diagram-status]")) status.textContent = "Drawing the diagram…";
  if ("IntersectionObserver" in window) {
    const observer = new IntersectionObserver(
      (entries) => {
        for (const entry of entries) {
          if (entry.isIntersecting) {
            observer.unobserve(entry.target);
            enqueue(entry.target);
          }
        }
      },
      { rootMargin: "600px 0px" },
    );
    figures.forEach((figure) => observer.observe(figure));
  } else {
    figures.forEach(enqueue);
  }
}
