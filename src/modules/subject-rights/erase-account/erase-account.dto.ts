import { ApiProperty } from '@nestjs/swagger';

export class ErasureReceiptDto {
  @ApiProperty({ format: 'uuid' })
  subjectId!: string;

  @ApiProperty({ format: 'date-time' })
  erasedAt!: string;

  @ApiProperty({ description: 'Objects deleted: originals, artworks, temporary files, exports and anything else under the account’s prefixes' })
  objectsDeleted!: number;

  @ApiProperty({ enum: [true], description: 'The account’s data key is destroyed: every personal field and object of it is unreadable for good' })
  keyDestroyed!: true;

  @ApiProperty({ format: 'uuid', description: 'The id of the SubjectErased proof kept in the log (it holds no personal data)' })
  receiptId!: string;
}

export class ErasureResponseDto {
  @ApiProperty({ type: ErasureReceiptDto })
  erasureReceipt!: ErasureReceiptDto;
}
