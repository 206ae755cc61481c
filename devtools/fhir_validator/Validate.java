// The HAPI FHIR R4 validator over JSON files (INTEROP.md §6, layer 3), offline: the core R4
// definitions, common code systems and in-memory terminology. Run as a single-file program:
//   java -cp '<libs>/*' Validate.java FILE...
// Prints one line per message ("SEVERITY file location message") and exits 1 on any error.
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.DefaultProfileValidationSupport;
import ca.uhn.fhir.validation.FhirValidator;
import ca.uhn.fhir.validation.ResultSeverityEnum;
import ca.uhn.fhir.validation.SingleValidationMessage;
import ca.uhn.fhir.validation.ValidationResult;
import java.nio.file.Files;
import java.nio.file.Path;
import org.hl7.fhir.common.hapi.validation.support.CommonCodeSystemsTerminologyService;
import org.hl7.fhir.common.hapi.validation.support.InMemoryTerminologyServerValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.SnapshotGeneratingValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.ValidationSupportChain;
import org.hl7.fhir.common.hapi.validation.validator.FhirInstanceValidator;

public class Validate {
    public static void main(String[] args) throws Exception {
        FhirContext context = FhirContext.forR4();
        ValidationSupportChain chain = new ValidationSupportChain(
                new DefaultProfileValidationSupport(context),
                new CommonCodeSystemsTerminologyService(context),
                new InMemoryTerminologyServerValidationSupport(context),
                new SnapshotGeneratingValidationSupport(context));
        FhirValidator validator = context.newValidator()
                .registerValidatorModule(new FhirInstanceValidator(chain));
        int errors = 0;
        for (String file : args) {
            ValidationResult result = validator.validateWithResult(Files.readString(Path.of(file)));
            for (SingleValidationMessage message : result.getMessages()) {
                ResultSeverityEnum severity = message.getSeverity();
                if (severity == ResultSeverityEnum.ERROR || severity == ResultSeverityEnum.FATAL) {
                    errors++;
                }
                System.out.println(severity + " " + file + " " + message.getLocationString() + " "
                        + message.getMessage());
            }
        }
        System.out.println("errors=" + errors);
        System.exit(errors == 0 ? 0 : 1);
    }
}
