import { createRequire } from 'node:module';

/**
 * Untrusted XML (IdP metadata), read with the parser node-saml itself uses (@xmldom/xmldom,
 * installed with it). Loaded through require with the few DOM members read here typed locally:
 * the package's own typings pull the browser's DOM library into the whole server's type check.
 */
export interface XmlElement {
  readonly nodeType: number;
  readonly localName: string | null;
  readonly namespaceURI: string | null;
  readonly childNodes: ArrayLike<XmlElement>;
  readonly textContent: string | null;
  /** '' (not null) for a missing attribute, in this version of xmldom. */
  getAttribute(name: string): string | null;
  hasAttribute(name: string): boolean;
}

interface XmlDocument {
  readonly documentElement: XmlElement | null;
}

interface XmlParser {
  parseFromString(source: string, mimeType: string): XmlDocument;
}

interface XmlDomModule {
  DOMParser: new (options: {
    locator: object;
    errorHandler: {
      warning(message: string): void;
      error(message: string): void;
      fatalError(message: string): void;
    };
  }) => XmlParser;
}

const xmldom = createRequire(import.meta.url)('@xmldom/xmldom') as XmlDomModule;

const ELEMENT_NODE = 1;

export const SAML_METADATA_NS = 'urn:oasis:names:tc:SAML:2.0:metadata';
export const XMLDSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';

/** Why a text was not taken as XML. */
export type XmlRefusal = 'doctype' | 'not_xml';

export class XmlRefusedError extends Error {
  constructor(readonly reason: XmlRefusal) {
    super(reason === 'doctype' ? 'XML with a DOCTYPE is refused' : 'not well-formed XML');
    this.name = 'XmlRefusedError';
  }
}

/**
 * A document type declaration anywhere is refused before parsing: SAML never needs one, and its
 * entity declarations are how XXE and entity-expansion attacks start.
 */
export function hasDoctype(xml: string): boolean {
  return /<!\s*(DOCTYPE|ENTITY)/i.test(xml);
}

/** The root element of untrusted XML; throws XmlRefusedError. */
export function parseUntrustedXml(xml: string): XmlElement {
  if (hasDoctype(xml)) throw new XmlRefusedError('doctype');
  const fail = () => {
    throw new XmlRefusedError('not_xml');
  };
  let doc: XmlDocument;
  try {
    doc = new xmldom.DOMParser({
      locator: {},
      errorHandler: { warning: () => {}, error: fail, fatalError: fail },
    }).parseFromString(xml, 'text/xml');
  } catch {
    throw new XmlRefusedError('not_xml');
  }
  if (!doc.documentElement) throw new XmlRefusedError('not_xml');
  return doc.documentElement;
}

/** The element children of `parent` with this namespace and local name. */
export function childElements(parent: XmlElement, ns: string, localName: string): XmlElement[] {
  const found: XmlElement[] = [];
  for (const node of Array.from(parent.childNodes)) {
    if (node.nodeType === ELEMENT_NODE && node.namespaceURI === ns && node.localName === localName) {
      found.push(node);
    }
  }
  return found;
}

/** Every element below `root` (itself included) with this namespace and local name, in document order. */
export function descendantElements(root: XmlElement, ns: string, localName: string): XmlElement[] {
  const found: XmlElement[] = [];
  // Iterative: a hostile document may nest deeper than the call stack goes.
  const stack: XmlElement[] = [root];
  for (let node = stack.pop(); node; node = stack.pop()) {
    if (node.nodeType !== ELEMENT_NODE) continue;
    if (node.namespaceURI === ns && node.localName === localName) found.push(node);
    const children = Array.from(node.childNodes);
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return found;
}
