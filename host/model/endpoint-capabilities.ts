// What each endpoint accepts, learnt from its answers rather than configured: a request option
// an endpoint rejects (Mistral answers `stream_options` with 422 `extra_forbidden`) is dropped
// for that endpoint and stays dropped for the life of the process.

/** Request options Airlock sends that an endpoint may refuse; each is optional to the reply. */
export const OPTIONAL_REQUEST_OPTIONS = ['stream_options'] as const;
export type OptionalRequestOption = (typeof OPTIONAL_REQUEST_OPTIONS)[number];

const dropped = new Map<string, Set<OptionalRequestOption>>();

/** The options not to send to this endpoint (a base URL, as configured). */
export function droppedOptions(endpoint: string): ReadonlySet<OptionalRequestOption> {
  return dropped.get(key(endpoint)) ?? new Set();
}

/** Remembers that the endpoint refused the option; true the first time (to say so once). */
export function dropOption(endpoint: string, option: OptionalRequestOption): boolean {
  const k = key(endpoint);
  const set = dropped.get(k) ?? new Set<OptionalRequestOption>();
  dropped.set(k, set);
  if (set.has(option)) return false;
  set.add(option);
  return true;
}

/**
 * The option a refusal names, if the request was refused for one of the optional options it
 * carried: a 400 or 422 whose body names the option (pydantic's `extra_forbidden` with
 * `loc: ["body", "stream_options", …]`, or a message such as "Unknown name "stream_options"").
 */
export function refusedOption(
  status: number | undefined,
  body: string,
  sent: Iterable<OptionalRequestOption>,
): OptionalRequestOption | null {
  if (status !== 400 && status !== 422) return null;
  for (const option of sent) {
    if (new RegExp(`\\b${option}\\b`).test(body)) return option;
  }
  return null;
}

/** For tests: forget everything learnt. */
export function forgetEndpointCapabilities(): void {
  dropped.clear();
}

function key(endpoint: string): string {
  return endpoint.replace(/\/+$/, '');
}
