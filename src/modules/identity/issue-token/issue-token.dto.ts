import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length } from 'class-validator';

export class IssueTokenDto {
  @ApiProperty({ description: 'The registered device id', minLength: 1, maxLength: 256 })
  @IsString()
  @Length(1, 256)
  deviceId!: string;

  @ApiProperty({ description: 'The secret the device registered with', minLength: 32, maxLength: 256 })
  @IsString()
  @Length(32, 256)
  deviceSecret!: string;
}
