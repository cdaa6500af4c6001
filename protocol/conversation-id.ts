import { ChatringError } from './errors.js';
import { USER_ID_PATTERN } from './limits.js';

/**
 * A conversation id is derived from the pair alone, so both participants (and every node) compute
 * the same id with no lookup: the two user ids in ascending order joined by `~`, a character the
 * user id alphabet excludes and URLs never escape.
 */
const SEPARATOR = '~';

export function conversationIdOf(userA: string, userB: string): string {
  const [first, second] = orderedPair(userA, userB);
  return `${first}${SEPARATOR}${second}`;
}

/** The pair in the canonical order: the lower id first. It is also the lock order of a send. */
export function orderedPair(userA: string, userB: string): [string, string] {
  return userA < userB ? [userA, userB] : [userB, userA];
}

/** Parses a conversation id and checks that `userId` is one of its two participants. */
export function participantsOf(conversationId: string, userId: string): [string, string] {
  const parts = conversationId.split(SEPARATOR);
  const [first, second] = parts;
  const wellFormed =
    parts.length === 2 &&
    first !== undefined &&
    second !== undefined &&
    USER_ID_PATTERN.test(first) &&
    USER_ID_PATTERN.test(second) &&
    first < second;
  if (!wellFormed) {
    throw new ChatringError(
      'INVALID_CONVERSATION_ID',
      `conversationId "${conversationId}" is not "userA~userB" with userA < userB`,
    );
  }
  if (userId !== first && userId !== second) {
    throw new ChatringError(
      'INVALID_CONVERSATION_ID',
      `user "${userId}" is not a participant of "${conversationId}"`,
    );
  }
  return [first, second];
}

export function peerOf(participants: readonly [string, string], userId: string): string {
  return participants[0] === userId ? participants[1] : participants[0];
}
