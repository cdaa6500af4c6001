import type { ApiResponse } from '../../harness/index.js';
import type { PlannedOperation } from './chat-workload.js';
import { forEachLimit } from './for-each-limit.js';

/**
 * What the workload's operations need of a client: the harness's ApiClient, or the ring-aware
 * client seen through the harness's clientApi.
 */
export interface OperationApi {
  send(
    senderId: string,
    recipientId: string,
    content: string,
    clientMessageId?: string,
  ): Promise<ApiResponse<unknown>>;
  conversations(userId: string, query: { pageSize: number }): Promise<ApiResponse<unknown>>;
  messages(
    userId: string,
    conversationId: string,
    query: { page: number; pageSize: number },
  ): Promise<ApiResponse<unknown>>;
}

/**
 * Issues one planned operation of the chat workload through the public API. `pageSize` applies to
 * reads that do not name their own.
 */
export function callOperation(
  client: OperationApi,
  operation: PlannedOperation,
  pageSize: number,
): Promise<ApiResponse<unknown>> {
  switch (operation.kind) {
    case 'send': {
      const { senderId, recipientId, content, clientMessageId } = operation.request;
      return client.send(senderId, recipientId, content, clientMessageId);
    }
    case 'conversations':
      return client.conversations(operation.userId, { pageSize });
    case 'messages':
      return client.messages(operation.userId, operation.conversationId, {
        page: 0,
        pageSize: operation.pageSize ?? pageSize,
      });
  }
}

/** What a pass of operations (a cache warm-up) did. */
export interface OperationPass {
  requests: number;
  /** Operations that still failed after their retries. */
  errors: number;
  errorsByCode: Record<string, number>;
  /** Operations sent again because an earlier attempt failed. */
  retried: number;
  seconds: number;
}

/**
 * Runs every operation once, `concurrency` at a time, then sends the failed ones again, up to
 * `retries` more rounds; counts what still failed by code.
 */
export async function runOperations(
  operations: readonly PlannedOperation[],
  concurrency: number,
  call: (operation: PlannedOperation) => Promise<ApiResponse<unknown>>,
  retries = 0,
): Promise<OperationPass> {
  const started = performance.now();
  let pending = operations;
  let retried = 0;
  let errorsByCode: Record<string, number> = {};
  for (let round = 0; round <= retries && pending.length > 0; round += 1) {
    if (round > 0) retried += pending.length;
    const failed: PlannedOperation[] = [];
    errorsByCode = {};
    await forEachLimit(pending, concurrency, async (operation) => {
      const { errorCode } = await call(operation);
      if (errorCode === undefined) return;
      failed.push(operation);
      errorsByCode[errorCode] = (errorsByCode[errorCode] ?? 0) + 1;
    });
    pending = failed;
  }
  return {
    requests: operations.length,
    errors: pending.length,
    errorsByCode,
    retried,
    seconds: (performance.now() - started) / 1_000,
  };
}
