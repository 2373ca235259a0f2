/**
 * Builds the wallet app's example exports: data/ (what the JSON-file
 * application exported) and data-edited/ (the same a day later: one user
 * changed, one opportunity deleted, one added), for demonstrating a
 * differential. Deterministic: running it again gives the same bytes, so the
 * checked-in files are its output (`npx tsx examples/wallet-app/build.ts`;
 * `--check` fails when the checked-in files differ from it).
 *
 * The messy records are planted here on purpose and listed in README.md.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

function mulberry32(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = mulberry32(20250114);
const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
const wallet = () => '0x' + Array.from({ length: 40 }, () => '0123456789abcdef'[Math.floor(random() * 16)]).join('');
const iso = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
const day = 86_400_000;

// ---------------------------------------------------------------------------
// Users: an object keyed by wallet address.

const PEOPLE = [
  ['Amara Okafor', 'NG'], ['Lucas Ferreira', 'BR'], ['Sofia Marchetti', 'IT'], ['Kenji Watanabe', 'JP'], ['Priya Raman', 'IN'],
  ['Elena Petrova', 'BG'], ['Mateo Alvarez', 'ES'], ['Hannah Becker', 'DE'], ['Omar Haddad', 'JO'], ['Chloe Martin', 'FR'],
  ['Daniel Kim', 'KR'], ['Fatima Zahra', 'MA'], ['Liam O\'Connor', 'IE'], ['Aisha Bello', 'NG'], ['Noah Williams', 'US'],
  ['Mei Lin', 'SG'], ['Jonas Lindqvist', 'SE'], ['Isabella Rossi', 'IT'], ['Ethan Brooks', 'US'], ['Zanele Dube', 'ZA'],
  ['Mariana Costa', 'PT'], ['Arjun Mehta', 'IN'], ['Grace Mwangi', 'KE'], ['Tomás Novak', 'CZ'], ['Yara Nasser', 'AE'],
  ['Oliver Smith', 'GB'], ['Camila Reyes', 'MX'], ['Ahmed Farouk', 'EG'], ['Nina Kowalski', 'PL'], ['Samuel Mensah', 'GH'],
  ['Leah Goldberg', 'US'], ['Ravi Shankar', 'IN'], ['Julia Nowak', 'PL'], ['Diego Herrera', 'CO'], ['Emma Dubois', 'FR'],
  ['Kwame Asante', 'GH'], ['Sara Lindgren', 'SE'], ['Victor Chen', 'CA'], ['Ana Silva', 'BR'], ['Tariq Rahman', 'BD'],
] as const;

const DIAL: Record<string, string> = {
  NG: '+234', BR: '+55', IT: '+39', JP: '+81', IN: '+91', BG: '+359', ES: '+34', DE: '+49', JO: '+962', FR: '+33', KR: '+82', MA: '+212',
  IE: '+353', US: '+1', SG: '+65', SE: '+46', ZA: '+27', PT: '+351', KE: '+254', CZ: '+420', AE: '+971', GB: '+44', MX: '+52', EG: '+20',
  PL: '+48', GH: '+233', CO: '+57', CA: '+1', BD: '+880',
};

interface User {
  name: string;
  email: string;
  phone: { mobile: string; verified: boolean };
  createdAt: string;
  referrer: string | null;
  role: 'member' | 'creator' | 'admin' | 'reviewer';
  country: string;
}

const users: [string, User][] = [];
const start = Date.UTC(2024, 2, 1, 9, 0, 0);
PEOPLE.forEach(([name, country], i) => {
  const address = wallet();
  const role = i < 3 ? 'admin' : i < 6 ? 'reviewer' : i % 3 === 0 ? 'creator' : 'member';
  const referrer = i > 6 && random() < 0.6 ? users[Math.floor(random() * Math.min(i, 20))][0] : null;
  const local = name.toLowerCase().normalize('NFD').replace(/[\u0300-\u036f']/g, '').replace(/ /g, '.');
  const digits = String(200_000_000 + Math.floor(random() * 700_000_000));
  users.push([
    address,
    {
      name,
      email: `${local}@${pick(['example.com', 'mail.example.org', 'example.net'])}`,
      phone: { mobile: `${DIAL[country]}${digits}`, verified: random() < 0.8 },
      createdAt: iso(start + i * 9 * day + Math.floor(random() * day)),
      referrer,
      role,
      country,
    },
  ]);
});
const userAddresses = users.map(([a]) => a);

// Planted: a phone number written with spaces.
users[14][1].phone.mobile = '+1 555 014 2288';
// Planted: a referrer pointing to a wallet that is not in the export.
const GHOST = '0x9f3c5a7e21d04b6c8e13f7a90d5b2c4e6a8f1d03';
users[22][1].referrer = GHOST;
// Planted: a user whose wallet address is written in uppercase hex (the
// others are lowercase); kyc_documents.json refers to it in lowercase.
const UPPER_INDEX = 31;
const upperLower = users[UPPER_INDEX][0];
users[UPPER_INDEX][0] = '0x' + upperLower.slice(2).toUpperCase();

const admins = userAddresses.slice(0, 3);
const creators = users.filter(([, u]) => u.role === 'creator' || u.role === 'admin').map(([a]) => a);

// ---------------------------------------------------------------------------
// Opportunities: CSV.

const TITLES = [
  'Solar microgrid for Kisumu clinics', 'Community seed bank, phase 2', 'Open-source tutoring app', 'Rainwater harvesting pilot',
  'Artisan cooperative storefront', 'Coastal cleanup bounty', 'Mobile money literacy workshops', 'Urban beekeeping starter kits',
  'Bridge loan: "Harvest" cooperative', 'Student hackathon prizes', 'Clean cookstove distribution', 'Local news DAO treasury',
  'Repair café equipment', 'Reforestation monitoring drones', 'Wheelchair-accessible ramps, Lisbon', 'Maker space residency',
  'Offline-first health records', 'Fishing co-op cold storage', 'Neighbourhood wifi mesh', 'Kids coding club laptops',
  'Climate data fellowship', 'Food bank logistics', 'Translation bounties (Swahili, Yoruba)', 'Community radio transmitter',
  'Bike courier co-op e-bikes', 'Mangrove restoration round', 'Indie game jam grants', 'Water filter subscriptions',
  'Refugee legal aid hours', 'Library solar lamps',
] as const;
const TAGS = ['climate', 'education', 'health', 'infra', 'art', 'food', 'energy', 'water', 'dao', 'mobile', 'community'];
const CURRENCIES = ['USD', 'USD', 'USDC', 'EUR', 'ETH'];
const STATUSES = ['draft', 'open', 'open', 'open', 'funded', 'closed', 'cancelled'];

type Opportunity = Record<'id' | 'title' | 'owner' | 'amount' | 'currency' | 'status' | 'opens_on' | 'closes_on' | 'tags', string>;
const opportunities: Opportunity[] = TITLES.map((title, i) => {
  const opens = Date.UTC(2024, 5, 1) + Math.floor(random() * 300) * day;
  const tags = [...new Set([pick(TAGS), pick(TAGS), pick(TAGS)].slice(0, 1 + Math.floor(random() * 3)))];
  const currency = pick(CURRENCIES);
  const amount = currency === 'ETH' ? (0.5 + Math.floor(random() * 400) / 20).toFixed(2) : (500 + Math.floor(random() * 9500) * 5).toFixed(2);
  return {
    id: `opp-${String(1001 + i)}`,
    title,
    owner: pick(creators),
    amount,
    currency,
    status: pick(STATUSES),
    opens_on: iso(opens).slice(0, 10),
    closes_on: iso(opens + (14 + Math.floor(random() * 90)) * day).slice(0, 10),
    tags: tags.join(';'),
  };
});
// Planted: an amount that is not a number.
opportunities[7].amount = 'TBD';
// Planted: a date that does not exist.
opportunities[12].closes_on = '2025-02-30';
// The uppercase user owns an opportunity, written in lowercase here.
opportunities[18].owner = upperLower;

function csv(rows: Opportunity[]): string {
  const columns = Object.keys(rows[0]) as (keyof Opportunity)[];
  const cell = (text: string) => (/[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);
  return [columns.join(','), ...rows.map((r) => columns.map((c) => cell(r[c])).join(','))].join('\n') + '\n';
}

// ---------------------------------------------------------------------------
// Admin logs: JSON Lines.

const ACTIONS = [
  ['user.verify_phone', () => ({ method: 'sms', attempts: 1 + Math.floor(random() * 3) })],
  ['user.suspend', () => ({ reason: pick(['chargeback', 'spam reports', 'duplicate account']), until: iso(Date.UTC(2025, 3, 1) + Math.floor(random() * 60) * day) })],
  ['user.reinstate', () => ({ note: 'appeal accepted' })],
  ['kyc.approve', () => ({ document: null as string | null, level: pick(['basic', 'full']) })],
  ['kyc.reject', () => ({ document: null as string | null, reason: pick(['blurry image', 'expired document', 'name mismatch']) })],
  ['role.change', () => ({ from: 'member', to: 'creator' })],
  ['opportunity.feature', () => ({ opportunity: pick(opportunities).id, slot: 1 + Math.floor(random() * 3) })],
] as const;

const logLines: string[] = [];
let at = Date.UTC(2025, 0, 6, 8, 30);
for (let i = 0; i < 28; i++) {
  at += Math.floor(random() * 2 * day);
  const [action, details] = pick(ACTIONS);
  logLines.push(
    JSON.stringify({ id: `log-${String(5001 + i)}`, at: iso(at), admin: pick(admins), action, target: pick(userAddresses.filter((a) => !admins.includes(a))), details: details() }),
  );
}
// Planted: a line cut short by a crash during the export (not JSON).
logLines.splice(17, 0, '{"id": "log-5999", "at": "2025-02-11T10:04:12Z", "admin": "' + admins[1] + '", "action": "user.susp');

// ---------------------------------------------------------------------------
// KYC documents: {"documents": [...]}.

const DOC_TYPES = ['passport', 'national_id', 'driving_licence', 'proof_of_address'];
const documents = users.slice(0, 34).map(([address, user], i) => {
  const status = i % 9 === 4 ? 'rejected' : i % 7 === 5 ? 'pending' : 'verified';
  const submitted = Date.parse(user.createdAt) + (1 + Math.floor(random() * 20)) * day;
  return {
    id: `kyc-${String(701 + i)}`,
    user: i === UPPER_INDEX ? upperLower : address,
    type: pick(DOC_TYPES),
    country: user.country,
    status,
    submitted_at: iso(submitted),
    verified_at: status === 'verified' ? iso(submitted + Math.floor(random() * 3 * day)) : null,
    checks: {
      document_authentic: status !== 'rejected' || random() < 0.5,
      face_match: status === 'rejected' ? false : status === 'verified' ? true : null,
      sanctions_screen: 'clear',
      provider: 'idv-sandbox',
    },
  };
});
// Fill the approve/reject log entries with a document id of their target.
const docsByUser = new Map(documents.map((d) => [d.user.toLowerCase(), d.id]));
for (let i = 0; i < logLines.length; i++) {
  if (!logLines[i].startsWith('{"id": "log-5999"')) {
    const entry = JSON.parse(logLines[i]);
    if (entry.action.startsWith('kyc.')) entry.details.document = docsByUser.get(entry.target) ?? null;
    logLines[i] = JSON.stringify(entry);
  }
}

// ---------------------------------------------------------------------------
// Writing, and the edited copy.

function files(u: [string, User][], o: Opportunity[]): Record<string, string> {
  return {
    'users.json': JSON.stringify(Object.fromEntries(u.map(([a, user]) => [a, { name: user.name, email: user.email, phone: user.phone, createdAt: user.createdAt, referrer: user.referrer, role: user.role }])), null, 2) + '\n',
    'opportunities.csv': csv(o),
    'admin_logs.jsonl': logLines.join('\n') + '\n',
    'kyc_documents.json': JSON.stringify({ exportedAt: '2025-03-01T00:00:00Z', documents }, null, 2) + '\n',
  };
}

const original = files(users, opportunities);

// A day later: Sofia Marchetti changed her email and verified her phone;
// opportunity opp-1006 was deleted; opp-1031 was added.
const editedUsers = users.map(([a, u]): [string, User] => (u.name === 'Sofia Marchetti' ? [a, { ...u, email: 'sofia.m@example.org', phone: { ...u.phone, verified: true } }] : [a, u]));
const editedOpportunities = opportunities.filter((o) => o.id !== 'opp-1006');
editedOpportunities.push({
  id: 'opp-1031',
  title: 'School garden irrigation',
  owner: creators[4],
  amount: '2750.00',
  currency: 'USD',
  status: 'open',
  opens_on: '2025-03-02',
  closes_on: '2025-04-15',
  tags: 'food;water;education',
});
const edited = files(editedUsers, editedOpportunities);

const check = process.argv.includes('--check');
let stale = false;
for (const [dir, set] of [['data', original], ['data-edited', edited]] as const) {
  await mkdir(path.join(here, dir), { recursive: true });
  for (const [name, text] of Object.entries(set)) {
    const target = path.join(here, dir, name);
    if (check) {
      const current = await readFile(target, 'utf8').catch(() => null);
      if (current !== text) {
        process.stderr.write(`${dir}/${name} differs from what build.ts makes\n`);
        stale = true;
      }
    } else {
      await writeFile(target, text);
    }
  }
}
if (stale) process.exit(1);
