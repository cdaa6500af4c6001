import type { ApiClient, ApiResponse } from '../../harness/index.js';
import type { PlannedOperation } from './chat-workload.js';

/** Issues one planned operation of the chat workload through the public API. */
export function callOperation(
  client: ApiClient,
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
      return client.messages(operation.userId, operation.conversationId, { page: 0, pageSize });
  }
}
