// Requests to the extension: each gets the next numeric id and, later, one `reply`. The control
// the user acted on (a card, a form) is the reply's target: it is busy while the request is out
// and shows the reply's error, if any, next to itself.
import {
  FromWebview,
  type LoadTranscripts,
  type ReplyMessage,
  type WebviewRequest,
} from './protocol.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A request as a control builds it; `Requests.send` adds the id. */
export type RequestBody = DistributiveOmit<WebviewRequest, 'id'>;

export interface ReplyTarget {
  /** The request has been posted. */
  sending(): void;
  /** Its reply arrived. */
  settled(reply: ReplyMessage): void;
}

export class Requests {
  private readonly waiting = new Map<number, ReplyTarget>();

  constructor(
    private readonly post: (message: FromWebview) => void,
    private readonly nextId: () => number,
  ) {}

  /** Posts the request (if it is well formed) and routes its reply to `target`. */
  send(body: RequestBody, target: ReplyTarget): boolean {
    const message = { ...body, id: this.nextId() };
    const parsed = FromWebview.safeParse(message);
    if (!parsed.success) {
      console.warn('Airlock: not sending a malformed request', parsed.error.issues);
      return false;
    }
    this.waiting.set(message.id, target);
    target.sending();
    this.post(message as FromWebview);
    return true;
  }

  /** Posts a message that gets no reply (e.g. `loadTranscripts`), if it is well formed. */
  notify(message: LoadTranscripts): void {
    const parsed = FromWebview.safeParse(message);
    if (parsed.success) this.post(parsed.data);
    else console.warn('Airlock: not sending a malformed message', parsed.error.issues);
  }

  reply(reply: ReplyMessage): void {
    const target = this.waiting.get(reply.id);
    if (!target) return; // a reply to a request of an earlier page load
    this.waiting.delete(reply.id);
    target.settled(reply);
  }
}
