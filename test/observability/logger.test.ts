import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  REDACTED,
  createLogger,
  renderText,
  setLogLevel,
  smcLogger,
  type LoggerOptions,
} from '../../src/observability/logger.js';

const CANARY = `lcnry${randomBytes(8).toString('hex')}z`;

function capture(opts: LoggerOptions = {}) {
  const chunks: string[] = [];
  const destination = new Writable({
    write(c: Buffer | string, _e, cb) {
      chunks.push(c.toString());
      cb();
    },
  });
  const logger = createLogger({ ...opts, destination });
  const lines = () =>
    chunks
      .join('')
      .split('\n')
      .filter((l) => l !== '');
  const records = () => lines().map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logger, lines, records, text: () => chunks.join('') };
}

describe('createLogger', () => {
  it('writes JSON lines with level label, time and message', () => {
    const { logger, records } = capture();
    logger.info({ key: 'DB_URL' }, 'synced');
    const [rec] = records();
    expect(rec).toMatchObject({
      level: 'info',
      msg: 'synced',
      key: 'DB_URL',
      component: 'secret-manager-controller',
    });
    expect(typeof rec!.time).toBe('string');
  });

  it('never prints a value-like field (canary), at any usual depth', () => {
    const { logger, text } = capture({ level: 'trace' });
    logger.info(
      {
        value: CANARY,
        password: CANARY,
        token: CANARY,
        secret: CANARY,
        data: { K: CANARY },
        stringData: { K: CANARY },
        entry: { key: 'K', value: CANARY },
        secretObj: { data: { K: CANARY }, stringData: { K: CANARY } },
        entries: [{ key: 'A', value: CANARY }],
        req: { headers: { authorization: `Bearer ${CANARY}` } },
        auth: { creds: { credentials: CANARY, privateKey: CANARY } },
        nested: { list: [{ password: CANARY }] },
      },
      'applied',
    );
    logger.debug({ sops: { identity: CANARY, sshPrivateKey: CANARY } }, 'keys loaded');
    const out = text();
    expect(out).toContain('applied');
    expect(out).toContain(REDACTED);
    expect(out).toContain('"key":"K"');
    expect(out.includes(CANARY)).toBe(false);
  });

  it('honours the level and changes it at runtime', () => {
    const { logger, records } = capture({ level: 'warn' });
    logger.info('hidden');
    logger.warn('shown');
    setLogLevel(logger, 'debug');
    logger.debug('now shown');
    expect(records().map((r) => r.msg)).toEqual(['shown', 'now shown']);
  });

  it('text format renders one readable line per record, still redacted', () => {
    const { logger, lines } = capture({ format: 'text' });
    logger.info({ key: 'K', value: CANARY }, 'text line');
    const [line] = lines();
    expect(line).toMatch(/^\d{4}-\d\d-\d\dT\S+Z INFO {2}text line /);
    expect(line).toContain('key=K');
    expect(line).toContain(`value=${REDACTED}`);
    expect(line!.includes(CANARY)).toBe(false);
    expect(renderText('not json')).toBe('not json');
  });
});

describe('smcLogger', () => {
  it('binds the SMC and applies per-area levels', () => {
    const { logger, records } = capture({ level: 'info' });
    const log = smcLogger(logger, { namespace: 'team-a', name: 'app' }, { sops: 'ERROR', git: 'DEBUG' });
    log.area('sops').warn('sops warn hidden');
    log.area('sops').error('sops error shown');
    log.area('git').debug('git debug shown');
    log.area('provider').debug('provider debug hidden');
    log.area('provider').info('provider info shown');
    log.logger.info('smc line');
    const recs = records();
    expect(recs.map((r) => r.msg)).toEqual([
      'sops error shown',
      'git debug shown',
      'provider info shown',
      'smc line',
    ]);
    expect(recs[0]).toMatchObject({ smc: 'team-a/app', area: 'sops', level: 'error' });
    expect(recs[3]).toMatchObject({ smc: 'team-a/app' });
  });

  it('area loggers redact like the root', () => {
    const { logger, text } = capture();
    smcLogger(logger, { namespace: 'n', name: 'm' })
      .area('secrets')
      .info({ entry: { value: CANARY } }, 'x');
    expect(text().includes(CANARY)).toBe(false);
  });
});
