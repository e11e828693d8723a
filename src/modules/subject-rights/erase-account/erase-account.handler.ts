import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { AccountEraser } from './account-eraser.service';
import type { ErasureReceipt } from './erase-account.decider';
import { EraseAccountCommand } from './erase-account.command';

@CommandHandler(EraseAccountCommand)
export class EraseAccountHandler implements ICommandHandler<EraseAccountCommand> {
  constructor(@Inject(AccountEraser) private readonly eraser: AccountEraser) {}

  execute(command: EraseAccountCommand): Promise<ErasureReceipt> {
    return this.eraser.erase(command.subjectId, command.context);
  }
}
