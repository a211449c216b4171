/**
 * The image's SBOM: an SPDX 2.3 JSON document listing the controller, the Node binary, kustomize, every npm
 * package in the image's node_modules (from package-lock.json: version, resolved URL, integrity,
 * licence) and every Debian package of the base (from the base's debian-packages.tsv: version,
 * source package, sha256 of the .deb), each with its package URL. Deterministic: no build-host
 * path, the creation time is the image's.
 */
import { createHash } from 'node:crypto';

export interface NpmPackage {
  name: string;
  version: string;
  resolved?: string;
  integrity?: string;
  license?: string;
}

export interface DebianPackage {
  name: string;
  version: string;
  architecture: string;
  source: string;
  debSha256: string;
}

export interface SbomInput {
  app: { name: string; version: string; revision: string; source: string; license: string };
  node: { version: string; sha256: string };
  kustomize: { version: string; sha256: string };
  npm: NpmPackage[];
  debian: DebianPackage[];
  /** Debian release of the base, e.g. `debian-12` (purl `distro` qualifier). */
  distro: string;
  created: Date;
}

const spdxId = (kind: string, name: string, version: string) =>
  `SPDXRef-${kind}-${`${name}-${version}`.replace(/[^A-Za-z0-9.-]/g, '-')}`;

/** purl (github.com/package-url/purl-spec) percent-encoding of a name or version segment. */
const enc = (s: string) => encodeURIComponent(s).replace(/%2F/g, '/');

function npmPurl(p: NpmPackage): string {
  const [scope, name] = p.name.startsWith('@') ? p.name.split('/') : [undefined, p.name];
  return `pkg:npm/${scope ? `${enc(scope)}/` : ''}${enc(name!)}@${enc(p.version)}`;
}

/** A licence expression SPDX accepts as is, else NOASSERTION (npm's `license` field is free text). */
function spdxLicense(l: string | undefined): string {
  return l && /^[A-Za-z0-9.+\-() ]+$/.test(l) && !/^(SEE |UNLICENSED)/i.test(l) ? l : 'NOASSERTION';
}

function integrityChecksums(integrity: string | undefined): { algorithm: string; checksumValue: string }[] {
  const out: { algorithm: string; checksumValue: string }[] = [];
  for (const part of (integrity ?? '').split(/\s+/).filter(Boolean)) {
    const [algo, b64] = part.split('-', 2) as [string, string | undefined];
    if (!b64 || !/^sha(1|256|384|512)$/.test(algo)) continue;
    out.push({ algorithm: algo.toUpperCase(), checksumValue: Buffer.from(b64, 'base64').toString('hex') });
  }
  return out;
}

export function spdxDocument(input: SbomInput): Record<string, unknown> {
  const { app } = input;
  const appId = spdxId('Package', app.name, app.version);
  const nodeId = spdxId('Package', 'node', input.node.version);
  const packages: Record<string, unknown>[] = [
    {
      SPDXID: appId,
      name: app.name,
      versionInfo: app.version,
      supplier: 'NOASSERTION',
      downloadLocation: `git+${app.source}@${app.revision}`,
      filesAnalyzed: false,
      licenseConcluded: app.license,
      licenseDeclared: app.license,
      copyrightText: 'NOASSERTION',
      primaryPackagePurpose: 'APPLICATION',
      externalRefs: [
        {
          referenceCategory: 'PACKAGE-MANAGER',
          referenceType: 'purl',
          referenceLocator: `pkg:npm/${enc(app.name)}@${enc(app.version)}`,
        },
      ],
    },
    {
      SPDXID: nodeId,
      name: 'node',
      versionInfo: input.node.version,
      supplier: 'Organization: OpenJS Foundation',
      downloadLocation: `https://nodejs.org/dist/v${input.node.version}/`,
      filesAnalyzed: false,
      checksums: [{ algorithm: 'SHA256', checksumValue: input.node.sha256 }],
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: 'MIT',
      copyrightText: 'NOASSERTION',
      primaryPackagePurpose: 'APPLICATION',
      externalRefs: [
        {
          referenceCategory: 'PACKAGE-MANAGER',
          referenceType: 'purl',
          referenceLocator: `pkg:generic/node@${input.node.version}`,
        },
      ],
    },
  ];
  const kustomizeId = spdxId('Package', 'kustomize', input.kustomize.version);
  packages.push({
    SPDXID: kustomizeId,
    name: 'kustomize',
    versionInfo: input.kustomize.version,
    supplier: 'Organization: Kubernetes SIG CLI',
    downloadLocation: `https://github.com/kubernetes-sigs/kustomize/tree/kustomize/${input.kustomize.version}`,
    filesAnalyzed: false,
    checksums: [{ algorithm: 'SHA256', checksumValue: input.kustomize.sha256 }],
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: 'Apache-2.0',
    copyrightText: 'NOASSERTION',
    primaryPackagePurpose: 'APPLICATION',
    externalRefs: [
      {
        referenceCategory: 'PACKAGE-MANAGER',
        referenceType: 'purl',
        referenceLocator: `pkg:golang/sigs.k8s.io/kustomize/kustomize/v5@${input.kustomize.version}`,
      },
    ],
  });
  const relationships: Record<string, string>[] = [
    { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: appId },
    { spdxElementId: appId, relationshipType: 'DEPENDS_ON', relatedSpdxElement: nodeId },
    { spdxElementId: appId, relationshipType: 'DEPENDS_ON', relatedSpdxElement: kustomizeId },
  ];
  const seenPackages = new Set<string>();
  const ids = new Set<string>();
  for (const p of [...input.npm].sort((a, b) =>
    `${a.name}@${a.version}` < `${b.name}@${b.version}` ? -1 : 1,
  )) {
    if (seenPackages.has(`${p.name}@${p.version}`)) continue; // the same package installed at two paths
    seenPackages.add(`${p.name}@${p.version}`);
    // SPDX ids allow only letters, digits, `.` and `-`: `a_b` and `a-b` would collide.
    let id = spdxId('npm', p.name, p.version);
    for (let n = 2; ids.has(id); n++) id = `${spdxId('npm', p.name, p.version)}-${n}`;
    ids.add(id);
    const license = spdxLicense(p.license);
    packages.push({
      SPDXID: id,
      name: p.name,
      versionInfo: p.version,
      supplier: 'NOASSERTION',
      downloadLocation: p.resolved ?? 'NOASSERTION',
      filesAnalyzed: false,
      ...(p.integrity ? { checksums: integrityChecksums(p.integrity) } : {}),
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: license,
      copyrightText: 'NOASSERTION',
      primaryPackagePurpose: 'LIBRARY',
      externalRefs: [
        { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: npmPurl(p) },
      ],
    });
    relationships.push({ spdxElementId: appId, relationshipType: 'DEPENDS_ON', relatedSpdxElement: id });
  }
  for (const d of [...input.debian].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const id = spdxId('deb', d.name, d.version);
    const qualifiers = `arch=${d.architecture}&distro=${input.distro}${d.source !== d.name ? `&upstream=${enc(d.source)}` : ''}`;
    packages.push({
      SPDXID: id,
      name: d.name,
      versionInfo: d.version,
      supplier: 'Organization: Debian',
      downloadLocation: 'NOASSERTION',
      sourceInfo: `built from the Debian source package ${d.source}`,
      filesAnalyzed: false,
      checksums: [{ algorithm: 'SHA256', checksumValue: d.debSha256 }],
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: 'NOASSERTION',
      copyrightText: 'NOASSERTION',
      primaryPackagePurpose: 'OPERATING-SYSTEM',
      externalRefs: [
        {
          referenceCategory: 'PACKAGE-MANAGER',
          referenceType: 'purl',
          referenceLocator: `pkg:deb/debian/${enc(d.name)}@${enc(d.version)}?${qualifiers}`,
        },
      ],
    });
    relationships.push({ spdxElementId: nodeId, relationshipType: 'DEPENDS_ON', relatedSpdxElement: id });
  }
  const name = `${app.name}-${app.version}`;
  // A namespace unique to this content (SPDX wants one per document), from nothing but the content.
  const contentHash = createHash('sha256').update(JSON.stringify(packages)).digest('hex').slice(0, 16);
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name,
    documentNamespace: `${app.source}/spdx/${name}-${contentHash}`,
    creationInfo: {
      created: input.created.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      creators: ['Tool: secret-manager-controller-scripts-image'],
    },
    packages,
    relationships,
  };
}
