import type { AiProvider, ConnectionTestResult } from '../../../contracts/integrations.ts';
import type { Outbound } from '../../platform/outbound/outbound.ts';
import { answerMessage, describeStatus, jsonOf, probe, statusCode } from '../../platform/outbound/probe.ts';

/** What a connection test needs: the settings and the API key in the clear (never kept). */
export interface AiTarget {
  provider: AiProvider;
  baseUrl: string;
  model: string;
  deployment: string | null;
  apiVersion: string | null;
  apiKey: string;
}

/**
 * Where the provider lists its models: `{baseUrl}/models` for OpenAI and compatible APIs,
 * `{baseUrl}/openai/models?api-version=…` for Azure OpenAI.
 */
export function modelsUrl(target: Pick<AiTarget, 'provider' | 'baseUrl' | 'apiVersion'>): string {
  const base = target.baseUrl.replace(/\/+$/, '');
  if (target.provider === 'azure_openai') {
    return `${base}/openai/models?api-version=${encodeURIComponent(target.apiVersion ?? '')}`;
  }
  return `${base}/models`;
}

/** How each provider takes the key: a bearer token, or Azure's `api-key` header. */
function authHeaders(target: AiTarget): Record<string, string> {
  return target.provider === 'azure_openai'
    ? { 'api-key': target.apiKey }
    : { authorization: `Bearer ${target.apiKey}` };
}

/** The model ids a model list names, or undefined when the answer is not a model list. */
function listedModels(body: unknown): string[] | undefined {
  const data = body && typeof body === 'object' ? (body as { data?: unknown }).data : undefined;
  if (!Array.isArray(data)) return undefined;
  return data
    .map((m) => (m && typeof m === 'object' ? (m as { id?: unknown }).id : undefined))
    .filter((id): id is string => typeof id === 'string');
}

/**
 * Whether the list offers the model. Azure lists its base models with a version suffix
 * (`gpt-4o-mini-2024-07-18`), which the model's name without one stands for.
 */
function offers(models: readonly string[], target: AiTarget): boolean {
  if (models.includes(target.model)) return true;
  return target.provider === 'azure_openai' && models.some((id) => id.startsWith(`${target.model}-`));
}

const WORDS = {
  who: 'The provider',
  credential: 'the API key',
  notFound: 'check the base URL',
};
const AZURE_WORDS = { ...WORDS, notFound: 'check the endpoint and the API version' };

/**
 * The connection test: lists the provider's models through the outbound guard with the key, and
 * says whether the key is taken and the model offered. Never throws; the key never appears in the
 * result (a provider that quotes it back has it masked).
 */
export async function testAiConnection(outbound: Outbound, target: AiTarget): Promise<ConnectionTestResult> {
  const testedAt = new Date().toISOString();
  const outcome = await probe(outbound, modelsUrl(target), {
    method: 'GET',
    headers: { accept: 'application/json', ...authHeaders(target) },
  });
  const result = (
    ok: boolean,
    status: number | null,
    code: ConnectionTestResult['code'],
    detail: string,
    providerMessage: string | null = null,
  ): ConnectionTestResult => ({
    ok,
    status,
    code,
    detail,
    providerMessage,
    latencyMs: outcome.latencyMs,
    testedAt,
  });
  if (!outcome.answered) return result(false, null, outcome.code, outcome.detail);
  const { response } = outcome;
  const status = response.status;
  if (status < 200 || status >= 300) {
    const message = answerMessage(response, [target.apiKey]);
    const words = target.provider === 'azure_openai' ? AZURE_WORDS : WORDS;
    return result(false, status, statusCode(status), describeStatus(status, words, message), message);
  }
  const models = listedModels(jsonOf(response));
  if (models === undefined) {
    return result(
      false,
      status,
      'unexpected_answer',
      `The provider answered ${status}, but not with a list of models: check the base URL.`,
    );
  }
  if (!offers(models, target)) {
    return result(
      false,
      status,
      'model_not_found',
      `Model ${target.model} is not offered by this provider (it lists ${models.length} ${models.length === 1 ? 'model' : 'models'}).`,
    );
  }
  return result(
    true,
    status,
    'ok',
    `Connected in ${outcome.latencyMs} ms: the provider took the API key and offers ${target.model}.`,
  );
}
