/** SKELETON (replaced by the real adapter before it lands): the Firestore adapter of the chat port. */
import type { FirestoreContext } from '../db/firestore/context.ts';
import type { ChatData } from './chat.data.ts';

export function createFirestoreChatData(ctx: FirestoreContext): ChatData {
  void ctx;
  throw new Error('not implemented yet: the Firestore adapter of chat');
}
